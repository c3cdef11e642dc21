"""Resolve ``--host`` / ``--hosts`` into SSH targets.

Sources, most specific first: ``hosts.<name>`` in chom-validate.yaml, an Ansible inventory
(``--inventory``; INI or YAML; ``ansible_host``, ``ansible_user``, ``ansible_port``,
``ansible_ssh_private_key_file``; groups become roles) and ``~/.ssh/config`` (HostName, User, Port,
IdentityFile, ProxyJump). ``--hosts GROUP`` selects by inventory group or config role; ``all``
selects every known host.
"""

from __future__ import annotations

import configparser
import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import paramiko
import yaml

from ..config import Config, ConfigError
from ..engine import TargetSpec
from .base import TargetError
from .ssh import DEFAULT_COLLECT, DEFAULT_EXCLUDES, SshHost, SshParams

if TYPE_CHECKING:
    from ..cli.common import ScanArgs


@dataclass
class InventoryHost:
    name: str
    vars: dict[str, Any] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)


@dataclass
class Inventory:
    hosts: dict[str, InventoryHost] = field(default_factory=dict)

    def host(self, name: str) -> InventoryHost:
        return self.hosts.setdefault(name, InventoryHost(name))

    def groups(self) -> set[str]:
        return {g for h in self.hosts.values() for g in h.groups}


def _expand_pattern(name: str) -> list[str]:
    """Ansible ranges: web[01:03].example.com -> web01, web02, web03."""
    m = re.search(r"\[(\d+):(\d+)\]", name)
    if not m:
        return [name]
    a, b = m.group(1), m.group(2)
    width = len(a) if a.startswith("0") else 0
    return [name[: m.start()] + str(i).zfill(width) + name[m.end() :] for i in range(int(a), int(b) + 1)]


def _scalar(v: str) -> Any:
    v = v.strip().strip("'\"")
    return int(v) if v.isdigit() else v


def load_ini_inventory(text: str, source: str) -> Inventory:
    inv = Inventory()
    group = "ungrouped"
    kind = "hosts"
    children: dict[str, list[str]] = {}
    group_vars: dict[str, dict[str, Any]] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #")[0].strip()
        if not line or line.startswith(("#", ";")):
            continue
        m = re.match(r"^\[([^\]:]+)(?::(vars|children))?\]$", line)
        if m:
            group, kind = m.group(1), m.group(2) or "hosts"
            continue
        if kind == "children":
            children.setdefault(group, []).append(line)
        elif kind == "vars":
            k, _, v = line.partition("=")
            group_vars.setdefault(group, {})[k.strip()] = _scalar(v)
        else:
            parts = line.split()
            hv: dict[str, Any] = {}
            for tok in parts[1:]:
                if "=" not in tok:
                    raise ConfigError(f"{source}:{n}: expected key=value after the host name, got {tok!r}")
                k, _, v = tok.partition("=")
                hv[k] = _scalar(v)
            for name in _expand_pattern(parts[0]):
                h = inv.host(name)
                h.vars.update(hv)
                if group not in h.groups and group != "ungrouped":
                    h.groups.append(group)
    _apply_children(inv, children, group_vars)
    return inv


def _apply_children(
    inv: Inventory, children: dict[str, list[str]], group_vars: dict[str, dict[str, Any]]
) -> None:
    changed = True
    while changed:  # parent groups include members of child groups (transitively)
        changed = False
        for parent, kids in children.items():
            for h in inv.hosts.values():
                if parent not in h.groups and any(k in h.groups for k in kids):
                    h.groups.append(parent)
                    changed = True
    for h in inv.hosts.values():
        merged: dict[str, Any] = {}
        for g in ["all", *h.groups]:
            merged.update(group_vars.get(g, {}))
        merged.update(h.vars)
        h.vars = merged


def load_yaml_inventory(text: str, source: str) -> Inventory:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML inventory: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: an inventory must be a mapping of groups")
    inv = Inventory()
    children: dict[str, list[str]] = {}
    group_vars: dict[str, dict[str, Any]] = {}

    def walk(name: str, node: Any) -> None:
        if not isinstance(node, dict):
            return
        group_vars[name] = dict(node.get("vars") or {})
        for hname, hv in (node.get("hosts") or {}).items():
            for expanded in _expand_pattern(str(hname)):
                h = inv.host(expanded)
                h.vars.update(hv or {})
                if name not in h.groups and name not in ("all", "ungrouped"):
                    h.groups.append(name)
        for child, cnode in (node.get("children") or {}).items():
            children.setdefault(name, []).append(child)
            walk(child, cnode)

    for gname, gnode in data.items():
        walk(str(gname), gnode)
    _apply_children(inv, children, group_vars)
    for h in inv.hosts.values():
        h.groups = [g for g in h.groups if g != "all"]
    return inv


def load_inventory(path: Path) -> Inventory:
    if not path.is_file():
        raise ConfigError(f"--inventory {path}: no such file")
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yml", ".yaml") or re.match(r"^\s*(---|\w[\w-]*:\s*$)", text):
        return load_yaml_inventory(text, str(path))
    try:
        return load_ini_inventory(text, str(path))
    except configparser.Error as exc:  # pragma: no cover - defensive
        raise ConfigError(f"{path}: {exc}") from exc


def load_ssh_config(path: Path | None) -> paramiko.SSHConfig | None:
    p = path or Path.home() / ".ssh" / "config"
    if not p.is_file():
        if path is not None:
            raise ConfigError(f"--ssh-config {path}: no such file")
        return None
    try:
        return paramiko.SSHConfig.from_path(str(p))
    except (OSError, paramiko.SSHException) as exc:
        raise ConfigError(f"{p}: cannot parse ssh config: {exc}") from exc


def resolve_params(
    name: str,
    cfg: Config,
    inv: Inventory | None,
    sshcfg: paramiko.SSHConfig | None,
    args: ScanArgs,
    _depth: int = 0,
) -> SshParams:
    hc = cfg.hosts.get(name)
    ih = inv.hosts.get(name) if inv else None
    iv = ih.vars if ih else {}
    sc: dict[str, Any] = dict(sshcfg.lookup(name)) if sshcfg else {}
    hostname = (
        (hc.address if hc and hc.address else None) or iv.get("ansible_host") or sc.get("hostname") or name
    )
    port = (hc.port if hc and hc.port else None) or iv.get("ansible_port") or sc.get("port") or 22
    user = (hc.user if hc and hc.user else None) or iv.get("ansible_user") or sc.get("user")
    idents: list[str] = []
    if hc and hc.identity_file:
        idents = [hc.identity_file]
    elif iv.get("ansible_ssh_private_key_file"):
        idents = [str(iv["ansible_ssh_private_key_file"])]
    elif sc.get("identityfile"):
        idents = list(sc["identityfile"])
    known = args.known_hosts
    if known is None and sc.get("userknownhostsfile"):
        known = Path(os.path.expanduser(str(sc["userknownhostsfile"]).split()[0]))
    prefix = (hc.path_prefix if hc else "/") or "/"
    if prefix == "/" and iv.get("chom_path_prefix"):
        prefix = str(iv["chom_path_prefix"])
    roles = list(dict.fromkeys([*(hc.roles if hc else []), *(ih.groups if ih else [])]))
    ssh_settings = cfg.ssh or {}
    # What to collect: the defaults (or `ssh.collect`), then each role's `collect.include`, then the
    # host's; excludes add up the same way on top of DEFAULT_EXCLUDES (tar --exclude, and filtered
    # again when the archive is read).
    role_cfgs = [cfg.roles[r] for r in roles if r in cfg.roles]
    collect = tuple(
        dict.fromkeys(
            [
                *ssh_settings.get("collect", DEFAULT_COLLECT),
                *(p for rc in role_cfgs for p in rc.collect.include),
                *(hc.collect if hc else ()),
            ]
        )
    )
    excludes = tuple(
        dict.fromkeys(
            [
                *DEFAULT_EXCLUDES,
                *ssh_settings.get("exclude", ()),
                *(p for rc in role_cfgs for p in rc.collect.exclude),
                *(hc.collect_exclude if hc else ()),
            ]
        )
    )
    collect = tuple(
        c for c in collect if not any(fnmatch.fnmatchcase(c.strip("/"), x.strip("/")) for x in excludes)
    )
    jump: SshParams | None = None
    pj = sc.get("proxyjump")
    if pj and str(pj).lower() != "none":
        if _depth > 3:
            raise ConfigError(f"{name}: ProxyJump chain is longer than 3 hops")
        first = str(pj).split(",")[0]
        m = re.match(r"^(?:(?P<user>[^@]+)@)?(?P<host>[^:]+)(?::(?P<port>\d+))?$", first)
        if not m:
            raise ConfigError(f"{name}: cannot parse ProxyJump {pj!r}")
        jump = resolve_params(m.group("host"), cfg, inv, sshcfg, args, _depth + 1)
        if m.group("user"):
            jump.user = m.group("user")
        if m.group("port"):
            jump.port = int(m.group("port"))
    return SshParams(
        name=name,
        hostname=str(hostname),
        port=int(port),
        user=str(user) if user else None,
        identity_files=[os.path.expanduser(i) for i in idents],
        path_prefix=prefix,
        roles=roles,
        known_hosts=known,
        accept_new_host_keys=args.accept_new_host_keys,
        sudo=args.sudo,
        connect_timeout=args.connect_timeout,
        command_timeout=args.command_timeout,
        proxy_jump=jump,
        max_file_size=cfg.max_file_size,
        max_total_bytes=int(ssh_settings.get("max_collect_bytes", 64 * 1024 * 1024)),
        max_channels=int(ssh_settings.get("max_channels", 8)),
        collect=collect,
        excludes=excludes,
    )


def select_hosts(args: ScanArgs, cfg: Config, inv: Inventory | None) -> list[str]:
    names: list[str] = list(args.hosts)
    known = list(cfg.hosts) + [h for h in (inv.hosts if inv else {}) if h not in cfg.hosts]
    for group in args.host_groups:
        if group == "all":
            members = known
        else:
            members = [h for h in known if group in cfg.hosts.get(h, _NO_HOST).roles] + [
                h for h, ih in (inv.hosts if inv else {}).items() if group in ih.groups
            ]
        if not members:
            groups = sorted(
                {r for h in cfg.hosts.values() for r in h.roles} | (inv.groups() if inv else set())
            )
            raise ConfigError(
                f"--hosts {group}: no host has this role or inventory group "
                f"(known: all, {', '.join(groups) or 'none'})"
            )
        names.extend(members)
    return list(dict.fromkeys(names))


class _NoHost:
    roles: list[str] = []


_NO_HOST = _NoHost()


def host_target_specs(args: ScanArgs, cfg: Config) -> list[TargetSpec]:
    """Hook used by ``cli.common.build_targets`` for ``--host`` / ``--hosts``."""
    inv = load_inventory(args.inventory) if args.inventory else None
    sshcfg = load_ssh_config(args.ssh_config)
    names = select_hosts(args, cfg, inv)
    if not names:
        raise TargetError("no host selected")
    specs = []
    for n in names:
        params = resolve_params(n, cfg, inv, sshcfg, args)
        specs.append(TargetSpec(name=n, kind="ssh", open=lambda p=params: SshHost(p)))  # type: ignore[misc]
    return specs
