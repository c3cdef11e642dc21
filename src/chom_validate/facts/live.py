"""Live facts read from collected command output: the firewall a host really enforces and its
certificates. The commands are the allow-listed argv the engine collected before the checks ran;
the parsers are pure functions over their text (``facts/hosts.py`` holds the rest of the live model:
loaded units, listening sockets, crontab lines).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ..api import CommandResult, Context
from ..artifacts.firewall import Firewall, parse_iptables_save, parse_nft_ruleset, parse_ufw_status
from .hosts import FIREWALL_COMMANDS, SS, SYSTEMCTL_SHOW

(UFW, _), (NFT, _), (IPTABLES, _) = FIREWALL_COMMANDS
CERTBOT = ("certbot", "certificates")


# -- firewalls ---------------------------------------------------------------------------------------


@dataclass
class LiveFirewall:
    """The firewall the host really enforces: the first of ufw, nftables, iptables that is active."""

    name: str  # ufw | nftables | iptables
    fw: Firewall
    result: CommandResult

    def text(self, line: int | None) -> str:
        lines = self.result.stdout.splitlines()
        return lines[line - 1] if line and 0 < line <= len(lines) else ""


def active_firewall(ctx: Context) -> tuple[LiveFirewall | None, list[CommandResult]]:
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


# -- certbot -----------------------------------------------------------------------------------------


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


__all__ = [
    "CERTBOT",
    "IPTABLES",
    "NFT",
    "SS",
    "SYSTEMCTL_SHOW",
    "UFW",
    "Cert",
    "LiveFirewall",
    "active_firewall",
    "parse_certbot",
]
