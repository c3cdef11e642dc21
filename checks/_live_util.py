"""Parsers for live command outputs (systemctl show, ss, ufw, nft, iptables-save, certbot).

Pure functions over text: the checks in ``live.py`` compare their results with the files.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from chom_validate.engine import ScanContext
from chom_validate.findings import Evidence, sha256_hex
from chom_validate.targets.base import CommandResult

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


def live_capable(ctx: ScanContext) -> bool:
    return "commands" in ctx.target.capabilities


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


# -- systemctl show ----------------------------------------------------------------------------------


def parse_systemctl_show(text: str) -> dict[str, dict[str, str]]:
    """Blocks of ``Key=Value`` separated by blank lines -> {unit id: properties}."""
    out: dict[str, dict[str, str]] = {}
    for block in re.split(r"\n\s*\n", text.strip()):
        props: dict[str, str] = {}
        for line in block.splitlines():
            k, eq, v = line.partition("=")
            if eq:
                props[k.strip()] = v.strip()
        if props.get("Id"):
            out[props["Id"]] = props
    return out


# -- ss -ltnp --------------------------------------------------------------------------------------


@dataclass
class Listener:
    address: str
    port: int
    process: str
    line: str

    @property
    def loopback(self) -> bool:
        a = self.address.strip("[]")
        return a.startswith("127.") or a in ("::1", "localhost")


def parse_ss(text: str) -> list[Listener]:
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 5 or parts[0] != "LISTEN":
            continue
        addr, _, port = parts[3].rpartition(":")
        if not port.isdigit():
            continue
        addr = re.sub(r"%\S+$", "", addr)
        m = re.search(r'users:\(\("([^"]+)"', line)
        out.append(Listener(addr, int(port), m.group(1) if m else "?", line))
    return out


# -- firewalls -------------------------------------------------------------------------------------


@dataclass
class Firewall:
    """Which TCP ports the active firewall accepts from anywhere, with the line that says so."""

    name: str  # ufw | nftables | iptables | none
    result: CommandResult | None = None
    default_open: bool = True
    default_line: str = ""
    rules: list[tuple[set[int] | None, bool, str]] = field(default_factory=list)  # ports, world-open, line

    def open_to_world(self, port: int) -> tuple[bool, str]:
        for ports, is_open, line in self.rules:
            if ports is None or port in ports:
                return is_open, line
        return self.default_open, self.default_line


def _port_set(spec: str) -> set[int] | None:
    spec = spec.split("/")[0].strip()
    if spec.lower().startswith("anywhere"):
        return None
    ports: set[int] = set()
    for part in re.split(r"[,\s]+", spec.strip("{} ")):
        if re.fullmatch(r"\d+", part):
            ports.add(int(part))
        elif re.fullmatch(r"\d+[:-]\d+", part):
            a, b = (int(x) for x in re.split(r"[:-]", part))
            ports.update(range(a, b + 1))
        elif part:
            return set()  # application profile names: ports unknown, treated as no match
    return ports


_UFW_RULE = re.compile(
    r"^(?P<to>.+?)\s{2,}(?P<action>ALLOW|DENY|REJECT|LIMIT)(?:\s+(?P<dir>IN|OUT|FWD))?\s{2,}(?P<src>.+?)\s*$"
)


def parse_ufw(res: CommandResult) -> Firewall | None:
    text = res.stdout
    if not re.search(r"^Status:\s*active", text, re.M):
        return None
    fw = Firewall("ufw", res)
    m = re.search(r"^Default:.*$", text, re.M)
    if m:
        fw.default_line = m.group(0)
        fw.default_open = bool(re.search(r"\ballow \(incoming\)", m.group(0)))
    for line in text.splitlines():
        r = _UFW_RULE.match(line)
        if not r or (r.group("dir") or "IN") != "IN" or r.group("to").startswith("To"):
            continue
        to = r.group("to").replace(" (v6)", "")
        if "/udp" in to:
            continue
        world = r.group("src").startswith("Anywhere") and r.group("action") in ("ALLOW", "LIMIT")
        accept = r.group("action") in ("ALLOW", "LIMIT")
        if not r.group("src").startswith("Anywhere") and accept:
            continue  # restricted to a source: does not decide for the rest of the world
        fw.rules.append((_port_set(to), world, line))
    return fw


def parse_nft(res: CommandResult) -> Firewall | None:
    text = res.stdout
    m = re.search(r"hook input priority [^;]+;\s*policy (\w+);", text)
    if not m:
        return None
    fw = Firewall("nftables", res, default_open=m.group(1) == "accept", default_line=m.group(0))
    for line in text.splitlines():
        s = line.strip()
        if "saddr" in s or "iif" in s or "ct state" in s:
            continue
        if re.search(r"\b(accept|drop|reject)\b", s) and "dport" in s:
            pm = re.search(r"tcp dport (\{[^}]*\}|\S+)", s)
            if pm:
                fw.rules.append((_port_set(pm.group(1)), s.endswith("accept") or " accept" in s, s))
    return fw


def parse_iptables(res: CommandResult) -> Firewall | None:
    text = res.stdout
    m = re.search(r"^:INPUT (\w+)", text, re.M)
    rules = [ln for ln in text.splitlines() if ln.startswith("-A INPUT")]
    if not m or (m.group(1) == "ACCEPT" and not rules):
        return None
    fw = Firewall("iptables", res, default_open=m.group(1) == "ACCEPT", default_line=m.group(0))
    for ln in rules:
        if " -s " in ln or " -i lo" in ln or "--ctstate" in ln or "--state" in ln:
            continue
        pm = re.search(r"--dports? (\S+)", ln)
        target = re.search(r"-j (\w+)", ln)
        if pm and target and "-p tcp" in ln:
            fw.rules.append((_port_set(pm.group(1).replace(",", " ")), target.group(1) == "ACCEPT", ln))
    return fw


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
