"""Helpers for the shell-semantics checks (not a check module: nothing is registered here)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from chom_validate.api import Context as ScanContext
from chom_validate.artifacts import Artifact
from chom_validate.artifacts.shell import Command
from chom_validate.facts.inputs import ShellcheckFacts
from chom_validate.facts.shell_program import ShellProgram, shell_programs
from chom_validate.findings import Evidence, Result, Status

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


_TEST_DIR = re.compile(r"(^|/)(tests?|testdata|e2e|fixtures?)/")


def _programs(ctx: ScanContext) -> list[ShellProgram]:
    # test harness scripts are not deployment artifacts
    return [p for p in shell_programs(ctx) if not _TEST_DIR.search(p.entry.path)]


def shellcheck_agrees(facts: ShellcheckFacts | None, art: Artifact, line: int, *codes: int) -> list[Evidence]:
    """ShellCheck's own comment with one of ``codes`` on ``line`` (artifact-local), as a second
    evidence item ("ShellCheck SC2310 agrees at line N"); empty when ShellCheck did not run on the
    script or says nothing there (our analysis stands on its own)."""
    if facts is None or art.embedded:
        return []
    for c in facts.evidence(art):
        if c.code in codes and c.line <= line <= c.end_line:
            return [
                art.evidence(
                    line, note=f"ShellCheck {c.sc} agrees at line {line + art.line_offset}: {c.message[:120]}"
                )
            ]
    return []


def _finish(ctx: ScanContext, results: Iterator[Result], ok: str) -> Iterator[Result]:
    """Pass through the results; each program with no failure passes, with its script as evidence
    (per script, so results stay attributable to files)."""
    failed: set[str] = set()
    nothing_to_judge = False
    for r in results:
        nothing_to_judge |= r.status == Status.NOT_APPLICABLE
        for e in r.evidence:
            if e.path:
                failed.add(e.path)
        yield r
    if nothing_to_judge:
        return
    programs = [p for p in _programs(ctx) if not p.entry.embedded and p.entry.path not in failed]
    if not _programs(ctx):
        yield Result.not_applicable("no shell scripts found")
    for p in programs:
        yield Result.passed(
            f"{p.entry.path}: {ok}", p.entry.evidence(1, note="whole script inspected"), subject=p.entry.path
        )


def _ok(msg: str):  # type: ignore[no-untyped-def]
    """Decorator: a check that yields nothing after looking passes with ``msg``."""

    def deco(fn):  # type: ignore[no-untyped-def]
        import functools

        # the wrapped signature is the check's (typed inputs such as ShellcheckFacts pass through)
        @functools.wraps(fn)
        def run(ctx: ScanContext, *inputs: object) -> Iterator[Result]:
            yield from _finish(ctx, fn(ctx, *inputs), msg)

        return run

    return deco
