"""Parsers for live command outputs (systemctl show, ss, ufw, nft, iptables-save, certbot).

Pure functions over text: the checks in ``live.py`` compare their results with the files. The
outputs were collected by the engine before the checks ran (``@check(commands=...)``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from chom_validate.api import CommandResult
from chom_validate.api import Context as ScanContext
from chom_validate.artifacts.firewall import (
    Firewall,
    parse_iptables_save,
    parse_nft_ruleset,
    parse_ufw_status,
)
from chom_validate.facts.hosts import SocketListener as HostListener
from chom_validate.facts.hosts import parse_ss as facts_parse_ss
from chom_validate.findings import Evidence, Result, sha256_hex

SYSTEMCTL_SHOW = (
    "systemctl",
    "show",
    "--property=Id,Restart,ActiveState,SubState,UnitFileState,FragmentPath",
    "*.service",
)
SS = ("ss", "-ltnp")
UFW = ("ufw", "status", "verbose")
NFT = ("nft", "list", "ruleset")
IPTABLES = ("iptables-save",)
CERTBOT = ("certbot", "certificates")


NOT_LIVE = "not a live target (repository or tree): no running state to compare"


def live_capable(ctx: ScanContext) -> bool:
    return "commands" in ctx.capabilities


def live_command(ctx: ScanContext, argv: tuple[str, ...]) -> tuple[CommandResult | None, Result | None]:
    """(output, None) when ``argv`` ran; else (None, the result to yield): not_applicable on a
    repository or when the command is missing on the host, error when it failed or timed out."""
    if not live_capable(ctx):
        return None, Result.not_applicable(NOT_LIVE, subject=ctx.name)
    res = ctx.command(argv)
    if res.missing:
        return None, Result.not_applicable(
            f"{argv[0]} not found on {ctx.name}", cmd_evidence(ctx, res), subject=ctx.name
        )
    if res.timed_out or res.returncode != 0:
        return None, Result.error(
            f"`{' '.join(argv)}` failed on {ctx.name} (exit {res.returncode}): {res.stderr[:200]}",
            cmd_evidence(ctx, res),
            subject=ctx.name,
        )
    return res, None


def cmd_evidence(
    ctx: ScanContext, res: CommandResult, line: str | None = None, note: str | None = None
) -> Evidence:
    return Evidence(
        host=ctx.name,
        command=list(res.argv),
        excerpt=(line.strip() if line else None) or None,
        digest=sha256_hex(res.stdout.encode()),
        note=note,
    )


# -- ss -ltnp --------------------------------------------------------------------------------------


# One Listener type for trees and hosts: facts/hosts.py (``raw`` holds the ss line).
Listener = HostListener
parse_ss = facts_parse_ss


# -- firewalls -------------------------------------------------------------------------------------


@dataclass
class LiveFirewall:
    """The firewall the host really enforces: the first of ufw, nftables, iptables that is active."""

    name: str  # ufw | nftables | iptables
    fw: Firewall
    result: CommandResult

    def text(self, line: int | None) -> str:
        lines = self.result.stdout.splitlines()
        return lines[line - 1] if line and 0 < line <= len(lines) else ""


FIREWALL_COMMANDS = ((UFW, "ufw"), (NFT, "nftables"), (IPTABLES, "iptables"))


def active_firewall(ctx: ScanContext) -> tuple[LiveFirewall | None, list[CommandResult]]:
    """(active firewall or None, every firewall command result looked at).

    ufw first (when ``Status: active``), then ``nft list ruleset``, then ``iptables-save``; a
    ruleset with no rule and an accepting (or no) input policy is not an active firewall. The
    caller tells "nothing active" (some command answered) from "could not look" (none answered).
    """
    tried: list[CommandResult] = []
    for argv, name in FIREWALL_COMMANDS:
        res = ctx.command(argv)
        tried.append(res)
        if res.missing or res.timed_out or res.returncode != 0:
            continue
        if name == "ufw":
            fw = parse_ufw_status(res.stdout)
            if not fw.enabled:
                continue
        else:
            fw = parse_nft_ruleset(res.stdout) if name == "nftables" else parse_iptables_save(res.stdout)
            if not fw.rules and fw.default_incoming in (None, "allow"):
                continue
        return LiveFirewall(name, fw, res), tried
    return None, tried


def firewall_unreadable(ctx: ScanContext, tried: list[CommandResult]) -> Result | None:
    """not_applicable when no firewall tool exists, error when none could be read; else None."""
    if any(not r.missing and not r.timed_out and r.returncode == 0 for r in tried):
        return None
    if all(r.missing for r in tried):
        return Result.not_applicable(
            f"no firewall tool (ufw, nft, iptables-save) on {ctx.name}: the running firewall is unknown",
            *(cmd_evidence(ctx, r) for r in tried),
            subject=ctx.name,
        )
    why = "; ".join(f"`{' '.join(r.argv)}`: {(r.stderr or f'exit {r.returncode}')[:120]}" for r in tried)
    return Result.error(
        f"could not read the running firewall on {ctx.name} (try --sudo): {why}",
        *(cmd_evidence(ctx, r) for r in tried),
        subject=ctx.name,
    )


# -- certbot ---------------------------------------------------------------------------------------


@dataclass
class Cert:
    name: str
    expiry: dt.datetime | None
    line: str
    domains: str = ""


def parse_certbot(text: str) -> list[Cert]:
    certs: list[Cert] = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("Certificate Name:"):
            certs.append(Cert(s.split(":", 1)[1].strip(), None, s))
        elif certs and s.startswith("Domains:"):
            certs[-1].domains = s.split(":", 1)[1].strip()
        elif certs and s.startswith("Expiry Date:"):
            m = re.search(r"(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[+-]\d\d:\d\d)?)", s)
            if m:
                d = dt.datetime.fromisoformat(m.group(1).replace(" ", "T"))
                certs[-1].expiry = d if d.tzinfo else d.replace(tzinfo=dt.UTC)
                certs[-1].line = s
    return certs
