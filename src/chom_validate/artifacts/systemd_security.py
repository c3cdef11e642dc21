"""The hardening exposure score of a service unit, computed like ``systemd-analyze security``.

Weights, ranges, the order of the assessors and the bands are systemd 252's
(``src/analyze/analyze-security.c``; read from the ``security_assessor_table`` of the Debian 12
``systemd-analyze`` binary, 252.38). The score is systemd's integer arithmetic::

    exposure = ceil(100 * sum(ceil(badness * weight / range)) / sum(weight))   # 0..100, shown /10

Assessors that do not apply (e.g. ``RemoveIPC=`` for a root service, or the filesystem ones when
``DefaultDependencies=no``) are left out of both sums. Implied settings are applied the way the
unit loader does (``DynamicUser=`` implies ``ProtectSystem=strict``...; ``PrivateDevices=`` and
``ProtectKernel*=``/``ProtectClock=`` drop capabilities from the bounding set). Syscall groups come
from ``data/systemd_syscall_groups.json`` (``scripts/gen_systemd_security_data.py``).
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass, field
from importlib import resources

from .systemd import Unit

SYSTEMD_VERSION = 252

CAPS = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
]
CAP_ALL = (1 << 64) - 1
NS = {"cgroup": 0x02000000, "ipc": 0x08000000, "net": 0x40000000, "mnt": 0x20000, "pid": 0x20000000}
NS.update({"user": 0x10000000, "uts": 0x04000000})
NS_ALL = sum(NS.values())
NS_INITIAL = (1 << 64) - 1

# systemd's bands (analyze-security.c, badness_table): minimum exposure (0..100) -> name
BANDS: tuple[tuple[int, str], ...] = (
    (100, "DANGEROUS"),
    (90, "UNSAFE"),
    (75, "EXPOSED"),
    (50, "MEDIUM"),
    (10, "OK"),
    (1, "SAFE"),
    (0, "PERFECT"),
)


def _cap(*names: str) -> int:
    return sum(1 << CAPS.index(n) for n in names)


@dataclass
class SecurityInfo:
    """What systemd's assessors look at, after implied settings were applied."""

    user: str = ""
    dynamic_user: bool = False
    supplementary_groups: list[str] = field(default_factory=list)
    default_dependencies: bool = True
    flags: dict[str, bool] = field(default_factory=dict)  # boolean settings, by directive name
    protect_home: str = "no"
    protect_system: str = "no"
    root: bool = False  # RootDirectory= / RootImage=
    bounding: int = CAP_ALL
    ambient: int = 0
    umask: int = 0o022
    keyring_private: bool = True
    protect_proc: str = "default"
    proc_subset: str = "all"
    notify_all: bool = False
    restrict_namespaces: int = NS_INITIAL
    af_restricted: dict[str, bool] = field(default_factory=dict)  # inet, unix, netlink, packet, other
    syscall_archs: list[str] = field(default_factory=list)
    syscall_allow: bool = False
    syscalls: set[str] = field(default_factory=set)
    ip_deny_all: bool = False
    ip_allow_localhost: bool = False
    ip_allow_other: bool = False
    ip_bpf: bool = False
    device_policy: str = "auto"
    device_allow: bool = False

    @property
    def runs_privileged(self) -> bool:
        if self.user in ("0", "root"):
            return True
        if self.dynamic_user:
            return False
        return not self.user


@dataclass
class Assessment:
    id: str  # systemd's name, e.g. "PrivateNetwork=" or "CapabilityBoundingSet=~CAP_SYS_ADMIN"
    weight: int
    range: int
    badness: int | None  # None: does not apply
    description: str = ""

    @property
    def exposure(self) -> int:
        """Contribution in thousandths (systemd shows it /1000 in the per-directive table)."""
        if not self.badness:
            return 0
        return -(-self.badness * self.weight // self.range)


@dataclass
class SecurityReport:
    unit: str
    assessments: list[Assessment]
    exposure: int  # 0..100; systemd prints exposure/10 with one decimal

    @property
    def score(self) -> float:
        return self.exposure / 10

    @property
    def band(self) -> str:
        return next(name for minimum, name in BANDS if self.exposure >= minimum)

    def worst(self, n: int = 5) -> list[Assessment]:
        return sorted((a for a in self.assessments if a.exposure), key=lambda a: -a.exposure)[:n]


@functools.lru_cache(maxsize=1)
def _syscall_data() -> tuple[dict[str, list[str]], frozenset[str]]:
    raw = json.loads(
        resources.files("chom_validate").joinpath("data/systemd_syscall_groups.json").read_text("utf-8")
    )
    return raw["groups"], frozenset(raw["resolvable"])


def expand_syscalls(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
    """Resolvable syscall names of ``@group`` (recursively) or of a single name."""
    groups, resolvable = _syscall_data()
    name = name.split(":", 1)[0]  # `name:errno`
    if name.startswith("@"):
        if name in seen or name not in groups:
            return set()
        out: set[str] = set()
        for m in groups[name]:
            out |= expand_syscalls(m, seen | {name})
        return out
    return {name} if name in resolvable else set()


def _bool(v: str | None) -> bool | None:
    if v is None:
        return None
    low = v.strip().lower()
    if low in ("1", "yes", "y", "true", "t", "on"):
        return True
    if low in ("0", "no", "n", "false", "f", "off"):
        return False
    return None


def _caps_of(text: str) -> int:
    bits = 0
    for w in text.split():
        w = w.upper().removeprefix("CAP_")
        if w in CAPS:
            bits |= 1 << CAPS.index(w)
        elif w.isdigit() and int(w) < 64:
            bits |= 1 << int(w)
    return bits


def _capability_set(unit: Unit, key: str, initial: int) -> int:
    cur = initial
    for d in unit.directives:
        if d.section != "Service" or d.key != key:
            continue
        v = d.value.strip()
        invert = v.startswith("~")
        s = _caps_of(v.lstrip("~"))
        if s == 0 or cur == initial:
            cur = (~s & CAP_ALL) if invert else s
        elif invert:
            cur &= ~s & CAP_ALL
        else:
            cur |= s
    return cur


def _namespaces(unit: Unit) -> int:
    cur = NS_INITIAL
    for d in unit.directives:
        if d.section != "Service" or d.key != "RestrictNamespaces":
            continue
        v = d.value.strip()
        if not v:
            cur = NS_INITIAL
            continue
        b = _bool(v)
        if b is not None:
            cur = 0 if b else NS_ALL
            continue
        invert = v.startswith("~")
        flags = sum(NS.get(w, 0) for w in v.lstrip("~").split())
        if cur == NS_INITIAL:
            cur = (~flags & NS_ALL) if invert else flags
        elif invert:
            cur &= ~flags
        else:
            cur |= flags
    return cur


def _address_families(unit: Unit) -> dict[str, bool]:
    allow = False
    fams: set[str] = set()
    for d in unit.directives:
        if d.section != "Service" or d.key != "RestrictAddressFamilies":
            continue
        v = d.value.strip()
        if not v:
            fams, allow = set(), False
            continue
        if v == "none":
            fams, allow = set(), True
            continue
        invert = v.startswith("~")
        if not fams:
            allow = not invert
        for w in v.lstrip("~").split():
            if (not invert) == allow:
                fams.add(w.upper())
            else:
                fams.discard(w.upper())
    out = dict.fromkeys(("inet", "unix", "netlink", "packet", "other"), allow)
    for f in fams:
        group = {"AF_INET": "inet", "AF_INET6": "inet", "AF_UNIX": "unix", "AF_LOCAL": "unix"}
        group.update({"AF_NETLINK": "netlink", "AF_PACKET": "packet"})
        out[group.get(f, "other")] = not allow
    return out


def _syscall_filter(unit: Unit) -> tuple[bool, set[str]]:
    allow = False
    current: set[str] | None = None
    for d in unit.directives:
        if d.section != "Service" or d.key != "SystemCallFilter":
            continue
        v = d.value.strip()
        if not v:
            current, allow = None, False
            continue
        invert = v.startswith("~")
        if current is None:
            current = set()
            allow = not invert
            if allow:
                current |= expand_syscalls("@default")
        for w in v.lstrip("~").split():
            names = expand_syscalls(w)
            if invert == allow:
                current -= names
            else:
                current |= names
    return allow, current or set()


def _ip(unit: Unit, key: str) -> list[str]:
    out: list[str] = []
    for d in unit.directives:
        if d.key == key and d.section in ("Service", "Slice", "Socket"):
            out = [] if not d.value.strip() else out + d.value.split()
    return out


def _is_localhost(addr: str) -> bool:
    a = addr.split("/", 1)[0].lower()
    return a.startswith("127.") or a in ("::1", "0:0:0:0:0:0:0:1")


def security_info(unit: Unit) -> SecurityInfo:
    """Read the unit's effective settings and apply what the loader implies."""
    g = unit.get
    info = SecurityInfo()
    info.dynamic_user = bool(_bool(g("Service", "DynamicUser")))
    info.user = g("Service", "User") or ""
    if info.dynamic_user and not info.user:
        info.user = unit.prefix
    info.supplementary_groups = unit.values("Service", "SupplementaryGroups")
    info.default_dependencies = _bool(g("Unit", "DefaultDependencies")) is not False
    for key in [
        "PrivateDevices",
        "PrivateMounts",
        "PrivateNetwork",
        "PrivateTmp",
        "PrivateUsers",
        "ProtectControlGroups",
        "ProtectKernelModules",
        "ProtectKernelTunables",
        "ProtectKernelLogs",
        "ProtectClock",
        "ProtectHostname",
        "LockPersonality",
        "MemoryDenyWriteExecute",
        "NoNewPrivileges",
        "RemoveIPC",
        "RestrictRealtime",
        "RestrictSUIDSGID",
    ]:
        info.flags[key] = bool(_bool(g("Service", key)))
    info.flags["Delegate"] = bool(_bool(g("Service", "Delegate"))) or (
        g("Service", "Delegate") not in (None, "") and _bool(g("Service", "Delegate")) is None
    )
    ph = (g("Service", "ProtectHome") or "no").lower()
    info.protect_home = "yes" if _bool(ph) else ph if ph in ("read-only", "tmpfs") else "no"
    ps = (g("Service", "ProtectSystem") or "no").lower()
    info.protect_system = "yes" if _bool(ps) else ps if ps in ("full", "strict") else "no"
    info.root = any((g("Service", k) or "") not in ("", "/") for k in ("RootDirectory", "RootImage"))
    info.bounding = _capability_set(unit, "CapabilityBoundingSet", CAP_ALL)
    info.ambient = _capability_set(unit, "AmbientCapabilities", 0)
    um = g("Service", "UMask")
    if um and re.fullmatch(r"[0-7]{1,4}", um):
        info.umask = int(um, 8)
    km = g("Service", "KeyringMode")
    info.keyring_private = km is None or km == "private"
    info.protect_proc = g("Service", "ProtectProc") or "default"
    info.proc_subset = g("Service", "ProcSubset") or "all"
    info.notify_all = g("Service", "NotifyAccess") == "all"
    info.restrict_namespaces = _namespaces(unit)
    info.af_restricted = _address_families(unit)
    info.syscall_archs = unit.values("Service", "SystemCallArchitectures")
    info.syscall_allow, info.syscalls = _syscall_filter(unit)
    deny = _ip(unit, "IPAddressDeny")
    v4 = any(a in ("any",) or (a.endswith("/0") and "." in a) for a in deny)
    v6 = any(a in ("any",) or (a.endswith("/0") and ":" in a) for a in deny)
    info.ip_deny_all = v4 and v6
    for a in _ip(unit, "IPAddressAllow"):
        if a == "localhost" or _is_localhost(a):
            info.ip_allow_localhost = True
        else:
            info.ip_allow_other = True
    info.ip_bpf = bool(_ip(unit, "IPIngressFilterPath") or _ip(unit, "IPEgressFilterPath"))
    info.device_policy = g("Service", "DevicePolicy") or "auto"
    info.device_allow = bool(unit.entries("Service", "DeviceAllow"))

    # implied settings (src/core/unit.c unit_patch_contexts)
    if info.flags["PrivateDevices"]:
        info.bounding &= ~_cap("MKNOD", "SYS_RAWIO")
    if info.flags["ProtectKernelModules"]:
        info.bounding &= ~_cap("SYS_MODULE")
    if info.flags["ProtectKernelLogs"]:
        info.bounding &= ~_cap("SYSLOG")
    if info.flags["ProtectClock"]:
        info.bounding &= ~_cap("SYS_TIME", "WAKE_ALARM")
    if info.dynamic_user:
        if info.protect_system == "no":
            info.protect_system = "strict"
        if info.protect_home == "no":
            info.protect_home = "read-only"
        info.flags["PrivateTmp"] = True
        info.flags["RemoveIPC"] = True
        info.flags["NoNewPrivileges"] = True
        info.flags["RestrictSUIDSGID"] = True
    if info.flags["PrivateDevices"] and info.device_policy == "auto":
        info.device_policy = "closed"
    if info.flags["ProtectClock"]:
        info.device_allow = True  # char-rtc r
    return info


def _flag(name: str, w: int, *, ddo: bool = False, inverted: bool = False) -> tuple:  # type: ignore[type-arg]
    return (name + "=", w, 1, ("flag", name, inverted), ddo)


_CAP_ASSESSORS = [
    ("SYS_ADMIN", 1500, ("SYS_ADMIN",)),
    ("SET(UID|GID|PCAP)", 1500, ("SETUID", "SETGID", "SETPCAP")),
    ("SYS_PTRACE", 1500, ("SYS_PTRACE",)),
    ("SYS_TIME", 1000, ("SYS_TIME",)),
    ("NET_ADMIN", 1000, ("NET_ADMIN",)),
    ("SYS_RAWIO", 1000, ("SYS_RAWIO",)),
    ("SYS_MODULE", 1000, ("SYS_MODULE",)),
    ("AUDIT_*", 500, ("AUDIT_WRITE", "AUDIT_CONTROL", "AUDIT_READ")),
    ("SYSLOG", 500, ("SYSLOG",)),
    ("SYS_(NICE|RESOURCE)", 500, ("SYS_NICE", "SYS_RESOURCE")),
    ("MKNOD", 500, ("MKNOD",)),
    ("(CHOWN|FSETID|SETFCAP)", 1000, ("CHOWN", "FSETID", "SETFCAP")),
    ("(DAC_*|FOWNER|IPC_OWNER)", 1000, ("DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "IPC_OWNER")),
    ("KILL", 500, ("KILL",)),
    ("NET_(BIND_SERVICE|BROADCAST|RAW)", 500, ("NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW")),
    ("SYS_BOOT", 100, ("SYS_BOOT",)),
    ("MAC_*", 100, ("MAC_OVERRIDE", "MAC_ADMIN")),
    ("LINUX_IMMUTABLE", 75, ("LINUX_IMMUTABLE",)),
    ("IPC_LOCK", 50, ("IPC_LOCK",)),
    ("SYS_CHROOT", 50, ("SYS_CHROOT",)),
    ("BLOCK_SUSPEND", 25, ("BLOCK_SUSPEND",)),
    ("WAKE_ALARM", 25, ("WAKE_ALARM",)),
    ("LEASE", 25, ("LEASE",)),
    ("SYS_TTY_CONFIG", 25, ("SYS_TTY_CONFIG",)),
    ("SYS_PACCT", 25, ("SYS_PACCT",)),
    ("BPF", 25, ("BPF",)),
]
_SYSCALL_ASSESSORS = [
    ("swap", 1000),
    ("obsolete", 250),
    ("clock", 1000),
    ("cpu-emulation", 250),
    ("debug", 1000),
    ("mount", 1000),
    ("module", 1000),
    ("raw-io", 1000),
    ("reboot", 1000),
    ("privileged", 700),
    ("resources", 700),
]
# (id, weight, range, how, default_dependencies_only), in systemd's order.
ASSESSORS: list[tuple] = [  # type: ignore[type-arg]
    ("User=/DynamicUser=", 2000, 10, ("user",), False),
    ("SupplementaryGroups=", 200, 1, ("groups",), False),
    *(
        _flag(n, 2500 if n == "PrivateNetwork" else 1000, ddo=n == "PrivateTmp")
        for n in [
            "PrivateDevices",
            "PrivateMounts",
            "PrivateNetwork",
            "PrivateTmp",
            "PrivateUsers",
            "ProtectControlGroups",
            "ProtectKernelModules",
            "ProtectKernelTunables",
            "ProtectKernelLogs",
            "ProtectClock",
        ]
    ),
    ("ProtectHome=", 1000, 10, ("protect_home",), True),
    _flag("ProtectHostname", 50),
    ("ProtectSystem=", 1000, 10, ("protect_system",), True),
    ("RootDirectory=/RootImage=", 200, 1, ("root",), True),
    _flag("LockPersonality", 100),
    _flag("MemoryDenyWriteExecute", 100),
    _flag("NoNewPrivileges", 1000),
    *(
        (f"CapabilityBoundingSet=~CAP_{n}", w, 1, ("cap", _cap(*caps)), False)
        for n, w, caps in _CAP_ASSESSORS
    ),
    ("UMask=", 100, 10, ("umask",), False),
    ("KeyringMode=", 1000, 1, ("keyring",), False),
    ("ProtectProc=", 1000, 3, ("protect_proc",), False),
    ("ProcSubset=", 10, 1, ("proc_subset",), False),
    ("NotifyAccess=", 1000, 1, ("notify",), False),
    ("RemoveIPC=", 100, 1, ("remove_ipc",), False),
    _flag("Delegate", 100, inverted=True),
    _flag("RestrictRealtime", 500),
    _flag("RestrictSUIDSGID", 1000),
    ("RestrictNamespaces=~user", 1500, 1, ("ns", NS["user"]), False),
    ("RestrictNamespaces=~mnt", 500, 1, ("ns", NS["mnt"]), False),
    ("RestrictNamespaces=~ipc", 500, 1, ("ns", NS["ipc"]), False),
    ("RestrictNamespaces=~pid", 500, 1, ("ns", NS["pid"]), False),
    ("RestrictNamespaces=~cgroup", 500, 1, ("ns", NS["cgroup"]), False),
    ("RestrictNamespaces=~net", 500, 1, ("ns", NS["net"]), False),
    ("RestrictNamespaces=~uts", 100, 1, ("ns", NS["uts"]), False),
    ("RestrictAddressFamilies=~AF_(INET|INET6)", 1500, 1, ("af", "inet"), False),
    ("RestrictAddressFamilies=~AF_UNIX", 25, 1, ("af", "unix"), False),
    ("RestrictAddressFamilies=~AF_NETLINK", 200, 1, ("af", "netlink"), False),
    ("RestrictAddressFamilies=~AF_PACKET", 1000, 1, ("af", "packet"), False),
    ("RestrictAddressFamilies=~…", 1250, 1, ("af", "other"), False),
    ("SystemCallArchitectures=", 1000, 10, ("archs",), False),
    *((f"SystemCallFilter=~@{n}", w, 10, ("syscalls", n), False) for n, w in _SYSCALL_ASSESSORS),
    ("IPAddressDeny=", 1000, 10, ("ip",), False),
    ("DeviceAllow=", 1000, 10, ("devices",), False),
    ("AmbientCapabilities=", 500, 1, ("ambient",), False),
]


def _badness(how: tuple, info: SecurityInfo) -> tuple[int | None, str]:  # type: ignore[type-arg]
    kind = how[0]
    if kind == "flag":
        on = info.flags.get(how[1], False)
        return (int(on) if how[2] else int(not on)), ""
    if kind == "user":
        if info.user == "nobody":
            return 9, "runs as 'nobody', which should not be used for services"
        if info.dynamic_user and info.user not in ("0", "root"):
            return 0, "transient non-root user"
        if info.user and info.user not in ("0", "root"):
            return 0, "static non-root user"
        return 10, "runs as root"
    if kind == "groups":
        if info.runs_privileged:
            return None, "runs as root, option does not matter"
        return int(bool(info.supplementary_groups)), ""
    if kind == "protect_home":
        return {"yes": 0, "read-only": 5, "tmpfs": 1}.get(info.protect_home, 10), ""
    if kind == "protect_system":
        return {"strict": 0, "full": 3, "yes": 5}.get(info.protect_system, 10), ""
    if kind == "root":
        return int(not info.root), ""
    if kind == "cap":
        return int(bool(info.bounding & how[1])), ""
    if kind == "umask":
        m = info.umask
        for bit, b in ((0o002, 10), (0o004, 5), (0o020, 2), (0o040, 1)):
            if not m & bit:
                return b, ""
        return 0, ""
    if kind == "keyring":
        return int(not info.keyring_private), ""
    if kind == "protect_proc":
        return {"noaccess": 1, "invisible": 0, "ptraceable": 0}.get(info.protect_proc, 3), ""
    if kind == "proc_subset":
        return int(info.proc_subset != "pid"), ""
    if kind == "notify":
        return int(info.notify_all), ""
    if kind == "remove_ipc":
        if info.runs_privileged:
            return None, "runs as root, option does not apply"
        return int(not info.flags.get("RemoveIPC")), ""
    if kind == "ns":
        return int(bool(info.restrict_namespaces & how[1])), ""
    if kind == "af":
        return int(not info.af_restricted.get(how[1], False)), ""
    if kind == "archs":
        if not info.syscall_archs:
            return 10, "system calls with all ABIs"
        if info.syscall_archs == ["native"]:
            return 0, ""
        return 8, "native ABI plus others"
    if kind == "syscalls":
        if not info.syscall_allow and not info.syscalls:
            return 10, "does not filter system calls"
        members = expand_syscalls("@" + how[1])
        if info.syscall_allow:
            return (9 if members & info.syscalls else 0), ""
        return (10 if members - info.syscalls else 0), ""
    if kind == "ip":
        if info.ip_bpf:
            return 0, ""
        if not info.ip_deny_all:
            return 10, "no IP address allow list"
        if info.ip_allow_other:
            return 5, ""
        if info.ip_allow_localhost:
            return 2, ""
        return 0, ""
    if kind == "devices":
        if info.device_policy in ("strict", "closed"):
            return (5 if info.device_allow else 0), ""
        return 10, "no device ACL"
    if kind == "ambient":
        return int(bool(info.ambient)), ""
    raise ValueError(kind)


def assess(unit: Unit) -> SecurityReport:
    info = security_info(unit)
    out = []
    bad_sum = weight_sum = 0
    for ident, weight, rng, how, ddo in ASSESSORS:
        if ddo and not info.default_dependencies:
            b, desc = None, "service runs in special boot phase, option is not appropriate"
        else:
            b, desc = _badness(how, info)
        a = Assessment(ident, weight, rng, b, desc)
        out.append(a)
        if b is not None:
            bad_sum += a.exposure
            weight_sum += weight
    exposure = math.ceil(bad_sum * 100 / weight_sum) if weight_sum else 0
    exposure = -(-bad_sum * 100 // weight_sum) if weight_sum else 0
    return SecurityReport(unit.name, out, min(exposure, 100))
