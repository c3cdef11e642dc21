"""What a script does to the host's packet filter, whatever tool it uses, with script lines.

A deployment script rarely calls one firewall tool in one place. It detects a backend
(`systemctl is-active firewalld`, `hash iptables`), runs `firewall-cmd`, writes iptables commands
into a helper script or into the `ExecStart=` lines of a unit it generates (`echo "...
ExecStart=$iptables_path -I INPUT ..." > /etc/systemd/system/x.service`), or writes an nftables
table file and includes it from `/etc/nftables.conf`. This module turns one parsed script into a
``ScriptFirewall``: netfilter rules (iptables argv, nft chains with their hook and policy), the
files it writes (echo/printf redirections, `{ echo ...; } > file` groups, heredocs), the
`if` conditions each line runs under, and the backend operations (enable firewalld, reload
nftables, add/remove masquerade). Pure: text in, model out; lines are the script's own lines.

``firewalls(ctx)`` is the rule set per host the checks compare (``HostFirewall``): the scripts'
ufw rules merged per host, or on a live host without a script its running ufw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from chom_validate.api import Context
from chom_validate.artifacts.base import Artifact
from chom_validate.artifacts.firewall import Firewall, Rule, parse_ufw_script, parse_ufw_status
from chom_validate.artifacts.shell import Command, ShellScript, find_heredocs, strip_comment
from chom_validate.findings import Evidence

_IPT_WORD = re.compile(r"^(?:\S*/)?(ip6?tables)(?:-legacy|-nft)?$|^\$\{?\w*?(ip6?tables)\w*\}?$")
_EXEC_KEY = re.compile(r"^\s*Exec(?:Start|StartPre|StartPost|Reload)=\s*[-@:+!]*\s*(?P<cmd>.+)$")
_NFT_TABLE = re.compile(
    r"^\s*(?:add\s+)?table\s+(?P<fam>inet|ip6?|arp|bridge|netdev)\s+(?P<name>[\w-]+)\s*\{?"
)
# An nftables `include` line (^[ \t]*, not ^\s*: under re.M that spans blank lines, quadratically).
_NFT_INCLUDE = re.compile(r"^[ \t]*include\b", re.M)
_NFT_CHAIN = re.compile(r"^\s*chain\s+(?P<name>[\w-]+)\s*\{")
_NFT_HOOK = re.compile(r"\btype\s+(?P<type>\w+)\s+hook\s+(?P<hook>\w+)\b(?:.*?\bpolicy\s+(?P<policy>\w+))?")
_RHEL = re.compile(r"\b(centos|rhel|rocky|almalinux|fedora|oracle ?linux|amzn|amazon linux)\b", re.I)


@dataclass
class Written:
    """One file a script writes (all its echo/heredoc pieces in script order)."""

    path: str
    lines: list[tuple[int, str]] = field(default_factory=list)  # (script line, content line)
    truncated_at: list[int] = field(default_factory=list)  # script lines of `>` (not `>>`) writes

    @property
    def text(self) -> str:
        return "\n".join(t for _, t in self.lines)


@dataclass
class NfRule:
    """One iptables/ip6tables invocation (from a command, a written script or a unit's Exec line)."""

    family: str  # v4 | v6
    table: str
    chain: str
    op: str  # A I D C P N F X
    verdict: str  # iptables jump target: ACCEPT, DROP, MASQUERADE, ... ('' when none)
    line: int
    text: str
    origin: str  # "command" | path of the file it is written into
    proto: str | None = None
    dport: str | None = None
    iface_in: str | None = None
    iface_out: str | None = None
    source: str | None = None
    dest: str | None = None
    stateful: bool = False  # -m state/conntrack match
    checked: bool = False  # guarded by `iptables -C ... ||`
    conditions: tuple[str, ...] = ()


@dataclass
class NftChain:
    name: str
    line: int
    type: str | None = None
    hook: str | None = None
    policy: str | None = None
    hook_line: int | None = None
    rules: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class NftTable:
    family: str
    name: str
    line: int
    path: str
    chains: list[NftChain] = field(default_factory=list)


@dataclass
class Op:
    """A backend operation: what, at which line, with the command text."""

    what: str
    line: int
    text: str
    conditions: tuple[str, ...] = ()


@dataclass
class ScriptFirewall:
    rules: list[NfRule] = field(default_factory=list)
    nft_tables: list[NftTable] = field(default_factory=list)
    nft_flush_files: set[str] = field(default_factory=set)  # written files holding `flush ruleset`
    writes: dict[str, Written] = field(default_factory=dict)
    firewall_cmd: list[Op] = field(default_factory=list)
    firewalld_enable: list[Op] = field(default_factory=list)
    nft_reload: list[Op] = field(default_factory=list)
    nft_includes: list[Op] = field(default_factory=list)  # `include` appended to /etc/nftables.conf
    detections: list[Op] = field(default_factory=list)  # tests that pick a firewall backend
    mentions_nftables: bool = False
    rhel_family: Op | None = None
    reads_sshd_port: bool = False

    @property
    def touches_netfilter(self) -> bool:
        # an `include` appended to /etc/nftables.conf changes what nftables.service loads at boot
        return bool(self.rules or self.nft_tables or self.firewall_cmd or self.nft_includes)


# -- conditions ---------------------------------------------------------------------------------


def line_conditions(lines: list[str]) -> list[tuple[str, ...]]:
    """For each line (index 0 = line 1), the `if`/`elif`/`else` conditions enclosing it.

    Line-based and deliberately simple: one `if ...; then` per line, `fi` closes. Good enough to
    tell two rules guarded by different tests apart; never used to decide that code is dead.
    """
    stack: list[str] = []
    out: list[tuple[str, ...]] = []
    for raw in lines:
        s = strip_comment(raw).strip()
        m = re.match(r"^(el)?if\s+(.*?)(?:;\s*then\b.*)?$", s)
        if m and not m.group(1):
            out.append(tuple(stack))
            stack.append(m.group(2).strip())
            if re.search(r";\s*fi\s*$", s):
                stack.pop()
            continue
        if m and m.group(1) and stack:
            stack[-1] = f"not ({stack[-1]}) and {m.group(2).strip()}"
            out.append(tuple(stack))
            continue
        if s == "else" and stack:
            stack[-1] = f"not ({stack[-1]})"
            out.append(tuple(stack))
            continue
        if re.match(r"^fi\b", s) and stack:
            out.append(tuple(stack))
            stack.pop()
            continue
        out.append(tuple(stack))
    return out


# -- written files ------------------------------------------------------------------------------


def _echo_content(cmd: Command) -> str | None:
    words = cmd.words
    i = next((k for k, w in enumerate(words) if w in ("echo", "printf")), None)
    if i is None:
        return None
    rest = words[i + 1 :]
    if words[i] == "printf":
        return None  # format strings: not modelled
    while rest and re.match(r"^-[neE]+$", rest[0]):
        rest = rest[1:]
    return " ".join(rest)


def _group_targets(lines: list[str]) -> dict[int, tuple[str, bool]]:
    """Lines inside `{ ... } > file` groups -> (file, append)."""
    out: dict[int, tuple[str, bool]] = {}
    opens: list[int] = []
    for n, raw in enumerate(lines, 1):
        s = strip_comment(raw).strip()
        if s == "{":
            opens.append(n)
            continue
        m = re.match(r"^\}\s*(>>?)\s*(\"[^\"]+\"|'[^']+'|\S+)\s*$", s)
        if m and opens:
            start = opens.pop()
            for k in range(start + 1, n):
                out[k] = (m.group(2).strip("'\""), m.group(1) == ">>")
        elif s.startswith("}") and opens:
            opens.pop()
    return out


def script_writes(script: ShellScript) -> dict[str, Written]:
    """Files written by echo redirections, `{ echo; } > f` groups and heredocs, in script order."""
    pieces: list[tuple[int, str, bool, list[tuple[int, str]]]] = []
    groups = _group_targets(script.lines)
    for cmd in script.commands:
        content = _echo_content(cmd)
        if content is None:
            continue
        target = next(((op, t) for op, t in cmd.redirects if op in (">", ">>")), None)
        if target is not None:
            path, append = target[1].strip("'\""), target[0] == ">>"
        elif cmd.line in groups:
            path, append = groups[cmd.line]
            append = True  # the group truncates once, each echo adds a line
        else:
            continue
        if path.startswith("/dev/") or path.startswith("&"):
            continue
        pieces.append(
            (cmd.line, path, append, [(cmd.line + k, t) for k, t in enumerate(content.split("\n"))])
        )
    for h in find_heredocs(script.lines):
        if h.target:
            body = h.body.rstrip("\n").split("\n")
            pieces.append((h.line, h.target, h.append, [(h.body_start + k, t) for k, t in enumerate(body)]))
    out: dict[str, Written] = {}
    for line, path, append, piece in sorted(pieces, key=lambda p: p[0]):
        w = out.setdefault(path, Written(path))
        if not append:
            w.truncated_at.append(line)
        w.lines += piece
    return out


# -- iptables -----------------------------------------------------------------------------------


def parse_iptables(words: list[str], line: int, text: str, origin: str) -> NfRule | None:
    """argv starting with an iptables/ip6tables word (or a `$iptables_path` variable)."""
    if not words:
        return None
    m = _IPT_WORD.match(words[0])
    if not m:
        return None
    family = "v6" if (m.group(1) or m.group(2)) == "ip6tables" else "v4"
    r = NfRule(
        family=family, table="filter", chain="", op="", verdict="", line=line, text=text, origin=origin
    )
    i = 1
    while i < len(words):
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w in ("-t", "--table"):
            r.table = nxt
            i += 2
            continue
        if w in (
            "-A",
            "-I",
            "-D",
            "-C",
            "-P",
            "-N",
            "-F",
            "-X",
            "--append",
            "--insert",
            "--delete",
            "--check",
        ):
            r.op = {"--append": "A", "--insert": "I", "--delete": "D", "--check": "C"}.get(w, w[1:])
            r.chain = nxt
            i += 2
            if r.op == "P":
                r.verdict = words[i] if i < len(words) else ""
                i += 1
            continue
        if w in ("-j", "--jump"):
            r.verdict = nxt
        elif w in ("-p", "--protocol"):
            r.proto = nxt
        elif w in ("--dport", "--destination-port", "--dports"):
            r.dport = nxt
        elif w in ("-i", "--in-interface"):
            r.iface_in = nxt
        elif w in ("-o", "--out-interface"):
            r.iface_out = nxt
        elif w in ("-s", "--source"):
            r.source = nxt
        elif w in ("-d", "--destination"):
            r.dest = nxt
        elif w in ("--state", "--ctstate"):
            r.stateful = True
        i += 1
    return r if r.op else None


def _split(text: str) -> list[str]:
    return text.split()


def _rules_in_text(line: int, text: str, origin: str) -> list[NfRule]:
    """iptables invocations in one content line: a plain command or a unit Exec*= line."""
    s = text.strip()
    m = _EXEC_KEY.match(s)
    if m:
        s = m.group("cmd")
        s = re.sub(r"^/bin/(?:ba)?sh\s+-c\s+['\"]?", "", s)
    out = []
    checked = False
    for part in re.split(r"\s*(?:&&|\|\||;)\s*", s):
        r = parse_iptables(_split(part), line, text.strip(), origin)
        if r is None:
            continue
        if r.op == "C":
            checked = True
            continue
        r.checked = checked
        out.append(r)
    return out


# -- nftables -----------------------------------------------------------------------------------


def parse_nft_tables(w: Written) -> tuple[list[NftTable], bool]:
    """nft tables in a written file; True when the file starts over with `flush ruleset`."""
    tables: list[NftTable] = []
    flush = False
    table: NftTable | None = None
    chain: NftChain | None = None
    depth = 0
    for line, raw in w.lines:
        s = raw.strip()
        if re.match(r"^flush\s+ruleset\b", s):
            flush = True
        tm = _NFT_TABLE.match(s)
        if tm and depth == 0:
            table = NftTable(tm["fam"], tm["name"], line, w.path)
            tables.append(table)
            depth = 1 if "{" in s else 0
            continue
        cm = _NFT_CHAIN.match(s)
        if cm and table is not None:
            chain = NftChain(cm["name"], line)
            table.chains.append(chain)
            depth = 2
            continue
        if chain is not None:
            hm = _NFT_HOOK.search(s)
            if hm:
                chain.type, chain.hook, chain.policy = hm["type"], hm["hook"], hm["policy"] or "accept"
                chain.hook_line = line
                continue
            if s == "}":
                chain = None
                depth = 1
                continue
            if s:
                chain.rules.append((line, s))
            continue
        if s == "}" and table is not None:
            table = None
            depth = 0
    return tables, flush


# -- the whole script ---------------------------------------------------------------------------


def _index_of_tool(words: list[str], names: tuple[str, ...]) -> int | None:
    for k, w in enumerate(words):
        if w.rsplit("/", 1)[-1] in names:
            return k
    return None


def script_firewall(script: ShellScript) -> ScriptFirewall:
    fw = ScriptFirewall()
    conds = line_conditions(script.lines)

    def cond(line: int) -> tuple[str, ...]:
        return conds[line - 1] if 0 < line <= len(conds) else ()

    text = "\n".join(script.lines)
    fw.mentions_nftables = bool(re.search(r"\bnft(ables)?\b", text))
    fw.reads_sshd_port = bool(
        re.search(
            r"sshd\s+-T|sshd_config[^\n]*\bPort\b|\bPort\b[^\n]*sshd_config|--add-service[= ]ssh\b",
            text,
            re.I,
        )
    )
    fw.writes = script_writes(script)
    written_lines = {ln for w in fw.writes.values() for ln, _ in w.lines}
    for cmd in script.commands:
        words = cmd.words
        k = next((i for i, w in enumerate(words) if _IPT_WORD.match(w)), None)
        if k is not None and cmd.line not in written_lines:
            prefix = " ".join(words[:k])
            r = parse_iptables(words[k:], cmd.line, cmd.text, "command")
            if r is not None:
                r.checked = "-C" in cmd.logical.split() and "||" in cmd.logical
                r.conditions = cond(cmd.line)
                if r.op != "C" and "echo" not in prefix:
                    fw.rules.append(r)
        fc = _index_of_tool(words, ("firewall-cmd",))
        if fc is not None:
            fw.firewall_cmd.append(Op(" ".join(words[fc + 1 :]), cmd.line, cmd.text, cond(cmd.line)))
        sc = _index_of_tool(words, ("systemctl",))
        if sc is not None:
            args = words[sc + 1 :]
            verbs = [a for a in args if not a.startswith("-")]
            # `enable` alone takes effect at the next boot, which switches the zone on just the same
            if (
                verbs
                and verbs[0] in ("enable", "start", "restart")
                and any(a.startswith("firewalld") for a in verbs[1:])
            ):
                fw.firewalld_enable.append(Op(" ".join(args), cmd.line, cmd.text, cond(cmd.line)))
            if (
                verbs
                and verbs[0] in ("reload", "restart", "reload-or-restart")
                and any(a in ("nftables", "nftables.service") for a in verbs[1:])
            ):
                fw.nft_reload.append(Op(" ".join(args), cmd.line, cmd.text, cond(cmd.line)))
            if (
                verbs
                and verbs[0] == "is-active"
                and any(a.startswith(("firewalld", "nftables", "iptables", "ufw")) for a in verbs[1:])
            ):
                fw.detections.append(Op(" ".join(args), cmd.line, cmd.text, cond(cmd.line)))
        nf = _index_of_tool(words, ("nft",))
        if nf is not None and words[nf + 1 : nf + 3] == ["-f", "/etc/nftables.conf"]:
            fw.nft_reload.append(Op(" ".join(words[nf:]), cmd.line, cmd.text, cond(cmd.line)))
        if (cmd.name == "hash" or words[:2] == ["command", "-v"]) and any(
            re.match(r"^(iptables|nft|firewall-cmd|ufw)$", w) for w in words[1:]
        ):
            fw.detections.append(Op(" ".join(words), cmd.line, cmd.text, cond(cmd.line)))
        if re.search(r"\binclude\b[^\n]*>>\s*/etc/nftables\.conf", cmd.text):
            fw.nft_includes.append(Op(cmd.text, cmd.line, cmd.text, cond(cmd.line)))
        if fw.rhel_family is None and (
            cmd.name in ("dnf", "yum") or (_RHEL.search(cmd.text) and cmd.name in ("[[", "[", "test", "grep"))
        ):
            fw.rhel_family = Op(cmd.text, cmd.line, cmd.text, cond(cmd.line))
    for w in fw.writes.values():
        for line, t in w.lines:
            for r in _rules_in_text(line, t, w.path):
                r.conditions = cond(line)
                fw.rules.append(r)
        if w.path == "/etc/nftables.conf" and _NFT_INCLUDE.search(w.text):
            ln = next(line for line, t in w.lines if t.strip().startswith("include"))
            fw.nft_includes.append(Op(f"include appended to {w.path}", ln, script.lines[ln - 1], cond(ln)))
        tables, flush = parse_nft_tables(w)
        fw.nft_tables += tables
        if flush:
            fw.nft_flush_files.add(w.path)
    return fw


def ufw_ops(script: ShellScript) -> list[tuple[int, str, list[str]]]:
    """(line, op, args) of every ufw command in script order; op is reset|enable|disable|default|rule."""
    out = []
    for cmd in script.commands:
        words = cmd.words
        k = next((i for i, w in enumerate(words) if w == "ufw" or w.endswith("/ufw")), None)
        if k is None:
            continue
        args = [w for w in words[k + 1 :] if w not in ("--force", "-f")]
        if not args:
            continue
        op = args[0] if args[0] in ("reset", "enable", "disable", "default") else "rule"
        out.append((cmd.line, op, args))
    return out


# -- the rule set per host ---------------------------------------------------------------------------

UFW_STATUS = ["ufw", "status", "verbose"]


@dataclass
class HostFirewall:
    host: str
    firewall: Firewall
    artifact: Artifact | None = None  # the script (None for live output)
    command: list[str] | None = None

    def evidence(self, line: int | None, note: str | None = None) -> Evidence:
        if self.artifact is not None:
            return self.artifact.evidence(line, note=note)
        return Evidence(host=self.host, command=self.command, note=note)

    def rule_evidence(self, rule: Rule, note: str | None = None) -> Evidence:
        """Evidence at a rule, in the script that adds it (rule sets can merge several scripts)."""
        if rule.origin is not None:
            return rule.origin.evidence(rule.line, note=note)  # type: ignore[no-any-return]
        return self.evidence(rule.line, note=note)


def firewalls(ctx: Context) -> dict[str, HostFirewall]:
    def build() -> dict[str, HostFirewall]:
        out: dict[str, HostFirewall] = {}
        per_host: dict[str, list[tuple[Artifact, Firewall]]] = {}
        for art, script in sorted(ctx.parsed("shell"), key=lambda p: p[0].path):
            fw = parse_ufw_script(script)
            if fw is None or not (fw.rules or fw.default_incoming):
                continue
            for r in fw.rules:
                r.origin = art
            per_host.setdefault(art.host or ctx.name, []).append((art, fw))
        for host, items in per_host.items():
            # The host's rule set: the script that owns it (sets the default policy) is the base;
            # scripts that only add rules add theirs on top. Two owners are a conflict (NET022),
            # the first by path is kept as the base so results are stable.
            owners = [(a, f) for a, f in items if f.default_incoming is not None]
            base_art, base = owners[0] if owners else items[0]
            extra = [r for a, f in items if a is not base_art and f.default_incoming is None for r in f.rules]
            if extra:
                base = replace(base, rules=[*base.rules, *extra])
            out[host] = HostFirewall(host, base, base_art)
        # A host (live, or a snapshot of one) without a script: its running ufw is the model.
        if "commands" in ctx.capabilities and ctx.name not in out:
            res = ctx.command(UFW_STATUS)
            if not res.missing and not res.timed_out and res.returncode == 0:
                out[ctx.name] = HostFirewall(ctx.name, parse_ufw_status(res.stdout), None, UFW_STATUS)
        return out

    result: dict[str, HostFirewall] = ctx.derived("net:firewalls", build)
    return result


def script_firewalls(ctx: Context) -> list[tuple[Artifact, ScriptFirewall]]:
    """Every shell script that touches the packet filter, with its model (memoised)."""

    def build() -> list[tuple[Artifact, ScriptFirewall]]:
        out = []
        for art, script in ctx.parsed("shell"):
            if art.embedded:
                continue
            fw = script_firewall(script)
            if fw.touches_netfilter or fw.firewalld_enable or fw.nft_reload:
                out.append((art, fw))
        return out

    result: list[tuple[Artifact, ScriptFirewall]] = ctx.derived("facts:script_firewalls", build)
    return result
