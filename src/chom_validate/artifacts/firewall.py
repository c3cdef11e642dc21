"""Host firewalls as one normalized rule list, whatever wrote them.

Four sources, all pure functions from text (or a parsed script) to a ``Firewall``:
``ufw`` commands in shell scripts (simple ``for x in ...; do`` loops and ``VAR=value`` assignments
are expanded), ``ufw status verbose``, ``iptables-save``/``ip6tables-save`` and ``nft list ruleset``.
Each ``Rule`` keeps its line (artifact-local for scripts, output line for live commands), so checks
can point at it. Evaluation is first-match on incoming rules, then the default policy.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from .shell import ShellScript, expand_vars

ANY = "any"
SERVICES = {
    "ssh": "22",
    "openssh": "22",
    "http": "80",
    "https": "443",
    "mysql": "3306",
    "postgresql": "5432",
    "redis": "6379",
    "smtp": "25",
    "domain": "53",
    "dns": "53",
}
UFW_APPS = {
    "openssh": ["22"],
    "nginx full": ["80", "443"],
    "nginx http": ["80"],
    "nginx https": ["443"],
    "www": ["80"],
    "www secure": ["443"],
    "www full": ["80", "443"],
}


@dataclass
class Rule:
    action: str  # allow | limit | deny | reject
    port: str | None  # "22", "80,443", "6000:6007"; None = every port
    proto: str = ANY  # tcp | udp | any
    source: str = ANY  # CIDR/address or "any"
    family: str = "both"  # v4 | v6 | both
    direction: str = "in"
    line: int | None = None
    text: str = ""
    comment: str = ""
    # the artifact (script) that adds this rule, when a host's rule set is merged from several
    origin: Any = field(default=None, repr=False, compare=False)

    @property
    def allows(self) -> bool:
        return self.action in ("allow", "limit")

    @property
    def from_anywhere(self) -> bool:
        return self.source == ANY or self.source.endswith("/0")

    def matches_port(self, port: int, proto: str = "tcp") -> bool:
        if self.proto not in (ANY, proto):
            return False
        if self.port is None:
            return True
        for part in self.port.split(","):
            lo, _, hi = part.partition(":") if ":" in part else part.partition("-")
            if lo.isdigit() and int(lo) <= port <= int(hi or lo):
                return True
        return False

    def matches_source(self, addr: str | None) -> bool:
        """True when traffic from ``addr`` (None: an arbitrary internet address) hits this rule."""
        if self.from_anywhere:
            return True
        if addr is None:
            return False
        try:
            return ipaddress.ip_address(addr) in ipaddress.ip_network(self.source, strict=False)
        except ValueError:
            return self.source == addr


@dataclass
class Firewall:
    kind: str  # ufw-script | ufw-status | iptables | nftables
    rules: list[Rule] = field(default_factory=list)
    default_incoming: str | None = None  # allow | deny | reject; None = not stated
    default_line: int | None = None
    enabled: bool | None = None  # enabled/active at boot; None = unknown
    enabled_line: int | None = None
    ipv6: bool | None = None  # rules also applied to IPv6
    ipv6_line: int | None = None

    @property
    def incoming(self) -> list[Rule]:
        return [r for r in self.rules if r.direction == "in"]

    def decide(self, port: int, proto: str = "tcp", source: str | None = None) -> tuple[bool, Rule | None]:
        """(allowed?, deciding rule or None for the default policy); first match wins."""
        for r in self.incoming:
            if r.matches_port(port, proto) and r.matches_source(source):
                return r.allows, r
        return (self.default_incoming == "allow"), None

    def public_rules(self, port: int, proto: str = "tcp") -> list[Rule]:
        """Allow rules that open ``port`` to any source."""
        return [r for r in self.incoming if r.allows and r.from_anywhere and r.matches_port(port, proto)]


def _family(src: str) -> str:
    if src == ANY:
        return "both"
    return "v6" if ":" in src else "v4"


def parse_ufw_args(args: list[str], line: int | None = None, text: str = "") -> Rule | None:
    """One ``ufw allow|deny|reject|limit ...`` argv (after ``ufw``) to a Rule; None if not a rule."""
    a = [x for x in args if x not in ("--force", "-f")]
    if a and a[0] == "insert" and len(a) > 2:
        a = a[2:]
    if a and a[0] in ("prepend",):
        a = a[1:]
    if not a or a[0] not in ("allow", "deny", "reject", "limit"):
        return None
    rule = Rule(action=a[0], port=None, line=line, text=text)
    rest = a[1:]
    if "comment" in rest:
        i = rest.index("comment")
        rule.comment = " ".join(rest[i + 1 :])
        rest = rest[:i]
    if rest and rest[0] in ("in", "out"):
        rule.direction = rest[0]
        rest = rest[1:]
    if len(rest) >= 2 and rest[0] == "on":
        rest = rest[2:]
    if (rest and rest[0] == "log") or (rest and rest[0] == "log-all"):
        rest = rest[1:]
    if rest and rest[0] not in ("from", "to", "proto"):
        # simple syntax: PORT[/proto] | service | app profile
        spec = " ".join(rest)
        if spec.lower() in UFW_APPS:
            rule.port = ",".join(UFW_APPS[spec.lower()])
            rule.proto = "tcp"
            return rule
        port, _, proto = rest[0].partition("/")
        rule.port = SERVICES.get(port.lower(), port)
        rule.proto = proto or ANY
        return rule
    i = 0
    while i < len(rest):
        w = rest[i]
        nxt = rest[i + 1] if i + 1 < len(rest) else ""
        if w == "proto":
            rule.proto = nxt
            i += 2
        elif w == "from":
            rule.source = ANY if nxt == "any" else nxt
            i += 2
        elif w == "to":
            i += 2  # destination address; we model incoming ports on this host
        elif w == "port":
            rule.port = SERVICES.get(nxt.lower(), nxt)
            i += 2
        elif w == "app":
            rule.port = ",".join(UFW_APPS.get(nxt.lower(), []) or [nxt])
            i += 2
        else:
            i += 1
    rule.family = _family(rule.source)
    return rule


_FOR_RE = re.compile(r"^\s*for\s+(?P<var>[A-Za-z_]\w*)\s+in\s+(?P<items>[^;]*?)\s*(?:;\s*do\b.*)?$")


def _loops(lines: list[str]) -> list[tuple[str, list[str], int, int]]:
    """(var, items, first line, last line) of simple ``for VAR in a b c; do ... done`` loops."""
    out = []
    stack: list[tuple[str, list[str], int]] = []
    for i, ln in enumerate(lines, 1):
        m = _FOR_RE.match(ln)
        if m:
            stack.append((m["var"], m["items"].replace('"', "").replace("'", "").split(), i))
            continue
        if re.match(r"^\s*done\b", ln) and stack:
            var, items, start = stack.pop()
            out.append((var, items, start, i))
    return out


def parse_ufw_script(script: ShellScript) -> Firewall | None:
    """ufw commands in a shell script; None when the script does not configure ufw."""
    env: dict[str, str] = {}
    for name, value, _ in script.assignments:
        v = value.strip().strip("'\"")
        if "$(" not in v and "`" not in v:
            env.setdefault(name, v)
    loops = _loops(script.lines)
    fw = Firewall(kind="ufw-script")
    seen = False
    for cmd in script.commands:
        words = cmd.words
        while words and words[0] in ("sudo", "command", "run", "exec"):
            words = words[1:]
        if not words or not (words[0] == "ufw" or words[0].endswith("/ufw")):
            if "/etc/default/ufw" in cmd.text and "IPV6=" in cmd.text:
                fw.ipv6 = re.findall(r"IPV6=(yes|no)", cmd.text)[-1] == "yes"
                fw.ipv6_line = cmd.line
            if words[:2] == ["systemctl", "enable"] and any(w.startswith("ufw") for w in words[2:]):
                fw.enabled = True
                fw.enabled_line = fw.enabled_line or cmd.line
            continue
        seen = True
        args = words[1:]
        envs: list[dict[str, str]] = [env]
        for var, items, start, end in loops:
            if start < cmd.line < end:
                envs = [{**e, var: item} for e in envs for item in items]
        for e in envs:
            expanded = [expand_vars(w, e) for w in args]
            if expanded[:1] == ["default"] and len(expanded) >= 2:
                if len(expanded) < 3 or expanded[2] in ("incoming", "in"):
                    fw.default_incoming = expanded[1]
                    fw.default_line = cmd.line
                continue
            if "enable" in expanded[:2] or expanded[-1:] == ["enable"]:
                fw.enabled = True
                fw.enabled_line = cmd.line
                continue
            if expanded[:1] == ["disable"]:
                fw.enabled = False
                fw.enabled_line = cmd.line
                continue
            rule = parse_ufw_args(expanded, cmd.line, cmd.text)
            if rule is not None:
                fw.rules.append(rule)
    if fw.ipv6 is None and seen:
        fw.ipv6 = True  # Debian/Ubuntu ship IPV6=yes in /etc/default/ufw
    return fw if seen else None


_STATUS_ROW = re.compile(
    r"^(?P<to>\S.*?)\s{2,}(?P<action>ALLOW|DENY|REJECT|LIMIT)(?:\s+(?P<dir>IN|OUT|FWD))?\s{2,}"
    r"(?P<from>\S.*?)\s*(?:#\s*(?P<comment>.*))?$"
)


def parse_ufw_status(text: str) -> Firewall:
    """``ufw status verbose`` output."""
    fw = Firewall(kind="ufw-status", ipv6=False)
    for n, ln in enumerate(text.splitlines(), 1):
        s = ln.strip()
        if s.startswith("Status:"):
            fw.enabled = "active" in s and "inactive" not in s
            fw.enabled_line = n
        elif s.startswith("Default:"):
            m = re.search(r"(\w+) \(incoming\)", s)
            if m:
                fw.default_incoming = m.group(1)
                fw.default_line = n
        m = _STATUS_ROW.match(s)
        if not m or m["to"] in ("To",):
            continue
        to = m["to"].replace("(v6)", "").strip()
        src = m["from"].replace("(v6)", "").strip()
        v6 = "(v6)" in s
        fw.ipv6 = fw.ipv6 or v6
        to = re.sub(r"\s+on\s+\S+$", "", to)
        port: str | None = None
        proto = ANY
        parts = to.split()
        spec = parts[-1] if parts else to
        if to.lower() in UFW_APPS:
            port, proto = ",".join(UFW_APPS[to.lower()]), "tcp"
        elif spec != "Anywhere":
            p, _, pr = spec.partition("/")
            if re.match(r"^[\d,:]+$", p):
                port, proto = p, pr or ANY
        source = ANY if src.startswith("Anywhere") else src.split()[0]
        fw.rules.append(
            Rule(
                action=m["action"].lower(),
                port=port,
                proto=proto,
                source=source,
                family="v6" if v6 else "v4" if source == ANY else _family(source),
                direction={"OUT": "out", "FWD": "fwd"}.get(m["dir"] or "", "in"),
                line=n,
                text=s,
                comment=m["comment"] or "",
            )
        )
    return fw


def _ipt_ports(tokens: list[str]) -> str | None:
    for flag in ("--dport", "--destination-port", "--dports", "--destination-ports"):
        if flag in tokens:
            return tokens[tokens.index(flag) + 1]
    return None


def parse_iptables_save(text: str, family: str = "v4") -> Firewall:
    """``iptables-save`` (or ``ip6tables-save`` with ``family="v6"``) output, filter table INPUT path."""
    fw = Firewall(kind="iptables", ipv6=(family == "v6"))
    table = None
    input_chains = {"INPUT"}
    pending: list[tuple[int, str, list[str]]] = []
    for n, ln in enumerate(text.splitlines(), 1):
        s = ln.strip()
        if s.startswith("*"):
            table = s[1:]
            continue
        if table != "filter":
            continue
        if s.startswith(":INPUT"):
            pol = s.split()[1].lower()
            fw.default_incoming = {"drop": "deny", "accept": "allow"}.get(pol, pol)
            fw.default_line = n
        elif s.startswith("-A "):
            try:
                toks = shlex.split(s)
            except ValueError:
                toks = s.split()
            pending.append((n, s, toks))
    for _, _, toks in pending:  # chains jumped to from an input chain are input chains too (ufw-*)
        if len(toks) > 1 and (toks[1] in input_chains or "input" in toks[1]) and "-j" in toks:
            input_chains.add(toks[toks.index("-j") + 1])
    for n, s, toks in pending:
        chain = toks[1]
        if chain not in input_chains and "input" not in chain.lower():
            continue
        target = toks[toks.index("-j") + 1] if "-j" in toks else ""
        if "-i" in toks and toks[toks.index("-i") + 1] == "lo":
            continue
        if "--ctstate" in toks or "--state" in toks:
            continue
        t = target.lower()
        if t in ("accept",) or ("accept" in t and "limit" not in t):
            action = "allow"
        elif "limit" in t or ("-m" in toks and "recent" in toks and t == "accept"):
            action = "limit"
        elif t in ("drop", "reject") or t.endswith(("-drop", "-reject")):
            action = "deny" if "drop" in t else "reject"
        else:
            continue
        src = toks[toks.index("-s") + 1] if "-s" in toks else ANY
        proto = toks[toks.index("-p") + 1] if "-p" in toks else ANY
        port = _ipt_ports(toks)
        if port is None and proto == ANY and src == ANY and action in ("deny", "reject"):
            fw.default_incoming = fw.default_incoming if fw.default_incoming == "deny" else "deny"
            fw.default_line = fw.default_line or n
            continue
        fw.rules.append(Rule(action, port, proto, src, family, "in", n, s))
    return fw


def parse_nft_ruleset(text: str) -> Firewall:
    """``nft list ruleset`` output: rules of chains hooked on input, in inet/ip/ip6 tables."""
    fw = Firewall(kind="nftables", ipv6=False)
    table_family = None
    in_input = False
    for n, ln in enumerate(text.splitlines(), 1):
        s = ln.strip()
        m = re.match(r"^table\s+(\w+)\s+\S+\s*\{", s)
        if m:
            table_family = m.group(1)
            continue
        if re.match(r"^chain\s+\S+\s*\{", s):
            in_input = False
            continue
        if "hook input" in s:
            in_input = True
            pm = re.search(r"policy\s+(\w+)", s)
            if pm:
                fw.default_incoming = {"drop": "deny", "accept": "allow"}.get(pm.group(1), pm.group(1))
                fw.default_line = n
            if table_family in ("inet", "ip6"):
                fw.ipv6 = True
            continue
        if not in_input or s in ("}", "") or s.startswith(("type ", "policy ")):
            continue
        if re.search(r"\biif(name)?\s+\"?lo\b", s) or "ct state" in s:
            continue
        verdict = re.search(r"\b(accept|drop|reject)\b", s)
        if not verdict:
            continue
        action = {"accept": "allow", "drop": "deny", "reject": "reject"}[verdict.group(1)]
        if action == "allow" and re.search(r"\blimit rate\b", s):
            action = "limit"
        src_m = re.search(r"\bip6?\s+saddr\s+(\{[^}]*\}|\S+)", s)
        src = src_m.group(1).strip("{} ").split(",")[0].strip() if src_m else ANY
        fam = (
            "v6"
            if re.search(r"\bip6\s+saddr", s)
            else "v4"
            if src_m
            else ("both" if table_family == "inet" else "v6" if table_family == "ip6" else "v4")
        )
        port_m = re.search(r"\b(tcp|udp)\s+dport\s+(\{[^}]*\}|\S+)", s)
        port = re.sub(r"\s+", "", port_m.group(2).strip("{}")).replace("-", ":") if port_m else None
        proto = port_m.group(1) if port_m else ANY
        if port is None and src == ANY and action in ("deny", "reject"):
            fw.default_incoming = "deny"
            fw.default_line = fw.default_line or n
            continue
        fw.rules.append(Rule(action, port, proto, src, fam, "in", n, s))
    return fw
