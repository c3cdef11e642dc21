"""Network wiring that needs host facts: the port sshd really listens on vs the firewall scripts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from chom_validate.checks._live_util import cmd_evidence, live_capable, live_command

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts import Artifact
from chom_validate.artifacts.firewall import parse_ufw_args
from chom_validate.artifacts.shell import ShellScript
from chom_validate.facts.firewall import NfRule, script_firewall, ufw_ops
from chom_validate.facts.hosts import parse_ss
from chom_validate.facts.live import SS
from chom_validate.findings import Result
from chom_validate.registry import check

_SERVICE_PORTS = {"ssh": "22"}


@dataclass
class DenyingScript:
    """A firewall script that ends with a default-deny input policy, and the SSH ports it opens."""

    art: Artifact
    kind: str  # ufw | iptables
    deny_line: int  # `ufw enable` / `ufw default deny` / `-P INPUT DROP`
    allows: list[tuple[int, str]]  # (line, rule text) of rules accepting a port
    allowed: set[int]  # ports accepted from anywhere or some source
    open_all: bool  # a rule accepts every port


def _nf_port_set(r: NfRule) -> set[int] | None:
    """Ports of an INPUT ACCEPT rule (None: every port)."""
    if not r.dport:
        return None
    out: set[int] = set()
    for part in r.dport.split(","):
        a, _, b = part.partition(":")
        a = _SERVICE_PORTS.get(a, a)
        b = _SERVICE_PORTS.get(b, b)
        if a.isdigit() and (not b or b.isdigit()):
            out.update(range(int(a), int(b or a) + 1))
    return out


def _default_allows_incoming(ops: list[tuple[int, str, list[str]]], enable: int) -> bool:
    """`ufw default allow incoming` set before the enable (ufw's own default is deny)."""
    last = None
    for line, op, args in ops:
        if op == "default" and line <= enable and "outgoing" not in args and "routed" not in args:
            last = args[1] if len(args) > 1 else None
    return last == "allow"


def _denying_scripts(ctx: ScanContext) -> list[DenyingScript]:
    out: list[DenyingScript] = []
    for art, s in ctx.parsed("shell"):
        if art.embedded or not isinstance(s, ShellScript):
            continue
        fw = script_firewall(s)
        if fw.reads_sshd_port:
            continue  # the script asks sshd for its port: it follows whatever the host uses
        ops = ufw_ops(s)
        enable = next((ln for ln, op, _ in ops if op == "enable"), None)
        if enable is not None and not _default_allows_incoming(ops, enable):
            d = DenyingScript(art, "ufw", enable, [], set(), False)
            for line, op, args in ops:
                if op != "rule":
                    continue
                r = parse_ufw_args(args, line)
                if r is None or not r.allows or r.direction != "in" or r.proto not in ("tcp", "any"):
                    continue
                if r.port is None:
                    d.open_all = True
                else:
                    ports: set[int] = set()
                    for spec in r.port.split(","):
                        a, _, b = spec.partition(":")
                        if a.isdigit() and (not b or b.isdigit()):
                            ports.update(range(int(a), int(b or a) + 1))
                    d.allowed |= ports
                d.allows.append((line, " ".join(args)))
            out.append(d)
            continue
        drop = next(
            (
                r
                for r in fw.rules
                if r.op == "P" and r.chain == "INPUT" and r.verdict.upper() in ("DROP", "REJECT")
            ),
            None,
        )
        if drop is None or drop.origin != "command":
            continue
        d = DenyingScript(art, "iptables", drop.line, [], set(), False)
        for nr in fw.rules:
            if (
                nr.op not in ("A", "I")
                or nr.chain != "INPUT"
                or nr.verdict.upper() != "ACCEPT"
                or nr.family != drop.family
            ):
                continue
            if nr.iface_in in ("lo",) or (nr.stateful and "NEW" not in nr.text.upper()):
                continue
            if nr.proto not in (None, "tcp", "all"):
                continue
            nf_ports = _nf_port_set(nr)
            if nf_ports is None:
                d.open_all = True
            else:
                d.allowed |= nf_ports
            d.allows.append((nr.line, nr.text.strip()))
        out.append(d)
    return out


@check(
    "LIV009",
    "live-sshd-port-allowed",
    category="network",
    severity="critical",
    pillar="reliability",
    commands=[list(SS)],
)
def sshd_port_allowed(ctx: ScanContext) -> Iterator[Result]:
    """The firewall scripts allow the port sshd really listens on.

    What it does
        On `--host`/`--snapshot`, reads the ports sshd listens on (`ss -ltnp`, process `sshd`,
        non-loopback) and every firewall script on the host or in the repository that ends with
        a default-deny input policy (`ufw enable`, `iptables -P INPUT DROP`). A script whose
        rules accept none of those ports fails: running it refuses every new SSH connection.
        Scripts that read the port from sshd's own configuration are left out. On a tree the
        real port is unknown, so the check is not applicable.
    Why it matters
        `ufw allow OpenSSH` or `ufw limit 22/tcp` opens 22, whatever `Port` says in
        sshd_config. On a host that moved SSH to 2222 the next run of the firewall script locks
        everybody out; on a cloud VM without a console that means a rebuild. Critical.
    Example
        ss: LISTEN 0.0.0.0:2222 users:(("sshd",...))   setup-firewall.sh: ufw limit 22/tcp; ufw --force enable
    Fix
        Open the real port (`ufw limit 2222/tcp`), or read it in the script:
        `port=$(sshd -T | awk '/^port /{print $2}')`.
    References
        https://manpages.debian.org/ufw.8 ; https://man.openbsd.org/sshd_config#Port
    Severity
        Critical: the next run of the firewall script refuses every new SSH connection; a VM
        without a console has to be rebuilt.
    """
    if not live_capable(ctx):
        yield Result.not_applicable(
            "the port sshd really listens on is a host fact: checked on --host/--snapshot",
            subject="sshd-port",
        )
        return
    scripts = sorted(_denying_scripts(ctx), key=lambda d: d.art.path)
    if not scripts:
        yield Result.not_applicable(
            f"no firewall script with a default-deny policy on {ctx.name}", subject="sshd-port"
        )
        return
    ss, problem = live_command(ctx, SS)
    if ss is None:
        yield problem or Result.error("no ss output", subject=ctx.name)
        return
    sshd = sorted(
        (lst for lst in parse_ss(ss.stdout) if lst.process == "sshd" and not lst.loopback),
        key=lambda x: x.port,
    )
    if not sshd:
        yield Result.not_applicable(
            f"no sshd listening on a non-loopback address on {ctx.name}",
            cmd_evidence(ctx, ss),
            subject="sshd-port",
        )
        return
    ports = sorted({lst.port for lst in sshd})
    failed = 0
    for d in scripts:
        if d.open_all or d.allowed & set(ports):
            continue
        failed += 1
        opened = sorted(d.allowed)
        shown = ", ".join(str(p) for p in opened[:8]) or "nothing"
        yield Result.fail(
            f"{d.art.label}: sshd on {ctx.name} listens on {', '.join(map(str, ports))} but this {d.kind} script "
            f"opens only {shown} before its default deny (line {d.deny_line}): running it refuses every new SSH "
            "connection (lockout)",
            d.art.evidence(d.deny_line, note="default deny takes effect here"),
            *(d.art.evidence(line, note="accepts a port, not sshd's") for line, _ in d.allows[:3]),
            cmd_evidence(ctx, ss, sshd[0].raw, note="the port sshd really listens on"),
            subject=f"{d.art.path}:ssh",
        )
    if not failed:
        yield Result.passed(
            f"{len(scripts)} firewall script(s) allow sshd's port {', '.join(map(str, ports))}",
            cmd_evidence(ctx, ss, sshd[0].raw),
        )
