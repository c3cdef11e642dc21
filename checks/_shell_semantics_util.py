"""Helpers for the shell-semantics checks (not a check module: nothing is registered here)."""

from __future__ import annotations

import re

from chom_validate.artifacts import Artifact
from chom_validate.artifacts.shell import Command

# Commands whose failure leaves the host half-configured (the ones that matter when nothing checks them).
MUTATING = re.compile(
    r"^(apt-get|apt|dnf|yum|zypper|apk|pacman|pip3?|systemctl|service|useradd|groupadd|mkdir|cp|mv|"
    r"install|tar|unzip|curl|wget|git|make|chmod|chown|ln|sed|iptables|ip6tables|firewall-cmd|nft|"
    r"docker|mysql|psql|openssl|update-rc\.d|wg|easyrsa|ufw)$"
)
# Filters that succeed whatever their input: as the last element of a pipeline they decide its status.
ALWAYS_OK_SINK = (
    "tee",
    "cat",
    "logger",
    "sed",
    "awk",
    "sort",
    "uniq",
    "head",
    "tr",
    "cut",
    "systemd-cat",
    "ts",
)
PRINTERS = ("echo", "printf")
ERRORISH = re.compile(
    r"\b(error|fail(ed|ure)?|unsupported|not supported|must be|needs? to|requires?|cannot|can't|could not|"
    r"invalid|unable|not found|no such|abort|refus|too old|not root|superuser|privileges|is not|are not|"
    r"isn't|aren't|missing)\b",
    re.I,
)
SUCCESSISH = re.compile(r"\b(finished|completed?|successfully|success|all done|all set)\b", re.I)


def indent(art: Artifact, line: int) -> int:
    text = art.line_text(line)
    return len(text) - len(text.lstrip())


def is_printer(c: Command) -> bool:
    return c.name in PRINTERS or c.name.startswith(
        ("log", "msg", "print", "warn", "err", "die", "info", "fatal")
    )


def printed_text(c: Command) -> str:
    return " ".join(w for w in c.argv[1:] if not w.startswith("-"))
