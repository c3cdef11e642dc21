"""`chom-validate baseline create`: record today's failures so CI fails only on new ones."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..governance import baseline_document
from ..outputs.text import make_console
from .app import app, fail
from .common import ScanArgs, run_scan

baseline_app = typer.Typer(
    help=(
        "Baselines: accept today's findings so that only new ones fail.\n\n"
        "  chom-validate baseline create -o .chom-baseline.json --path .\n\n"
        "  chom-validate all --path . --baseline .chom-baseline.json\n\n"
        "Fingerprints use the check id, target, file and a normalized excerpt (never the line), so "
        "moved lines still match and distinct findings never collapse. Baselined findings stay in every "
        "output, marked as baselined."
    ),
    no_args_is_help=True,
)
app.add_typer(baseline_app, name="baseline")


@baseline_app.command("create")
def create(
    output: Path = typer.Option(
        Path(".chom-baseline.json"), "--output", "-o", help="Where to write the baseline (JSON)."
    ),
    path: Path | None = typer.Option(
        None, "--path", "-p", help="Scan a local tree (repository checkout).", rich_help_panel="Target"
    ),
    host: list[str] = typer.Option(
        [], "--host", "-H", help="Scan a host over SSH.", rich_help_panel="Target"
    ),
    hosts: list[str] = typer.Option(
        [], "--hosts", help="Scan every host of an inventory group/role, or 'all'.", rich_help_panel="Target"
    ),
    snapshot: Path | None = typer.Option(
        None, "--snapshot", help="Replay a snapshot written by `capture`.", rich_help_panel="Target"
    ),
    inventory: Path | None = typer.Option(
        None, "--inventory", "-i", help="Ansible inventory (INI or YAML).", rich_help_panel="SSH"
    ),
    known_hosts: Path | None = typer.Option(
        None, "--known-hosts", help="known_hosts file.", rich_help_panel="SSH"
    ),
    sudo: bool = typer.Option(
        False, "--sudo", help="Run read commands with `sudo -n`.", rich_help_panel="SSH"
    ),
    ssh_config: Path | None = typer.Option(
        None, "--ssh-config", help="ssh_config file.", rich_help_panel="SSH"
    ),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Config file (default: ./chom-validate.yaml, else the one in --path)."
    ),
    profile: str | None = typer.Option(None, "--profile", help="baseline, hardened or certified."),
    category: list[str] = typer.Option([], "--category", help="Only checks of this category (repeatable)."),
    check_ids: list[str] = typer.Option([], "--check", help="Only this check id (repeatable)."),
    checks_dir: list[Path] = typer.Option(
        [], "--checks-dir", help="Load extra check modules from a directory."
    ),
    no_waivers: bool = typer.Option(
        False, "--no-waivers", help="Also baseline failures that waivers cover today (not recommended)."
    ),
    now: str | None = typer.Option(None, "--now", help="Fixed clock (ISO date).", hidden=True),
    no_color: bool = typer.Option(False, "--no-color", help="Plain output."),
) -> None:
    """Scan and write every current (unwaived) failure to a baseline file.

    Waived failures are left out on purpose: they stay governed by their waiver and fail again
    when it expires.
    """
    args = ScanArgs(
        path=path,
        hosts=host,
        host_groups=hosts,
        snapshot=snapshot,
        inventory=inventory,
        known_hosts=known_hosts,
        sudo=sudo,
        ssh_config=ssh_config,
        config=config,
        profile=profile,
        categories=category,
        only=check_ids,
        checks_dirs=checks_dir,
        no_waivers=no_waivers,
        now=now,
    )
    report, _cfg = run_scan(args)
    if report.target_errors:
        for t in report.target_errors:
            sys.stderr.write(f"chom-validate: error: {t.name}: {t.error}\n")
        fail("not writing a baseline from an incomplete scan")
    doc = baseline_document(
        report.findings,
        created_at=report.started_at,
        tool_version=report.tool_version,
        profile=report.profile,
    )
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(doc, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    n = len(report.failures())
    waived = sum(1 for f in report.findings if f.suppressed)
    console = make_console(no_color=no_color)
    console.print(
        f"wrote {output}: {n} finding(s) baselined"
        + (f" ({waived} waived finding(s) left to their waivers)" if waived else "")
    )
    console.print(f"use it with: chom-validate all ... --baseline {output}")
