"""`chom-validate baseline create`: record today's failures so CI fails only on new ones."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..governance import baseline_document
from ..outputs.text import make_console
from .app import app, fail
from .common import (
    ScanArgs,
    category_option,
    check_option,
    checks_dir_option,
    config_option,
    host_option,
    hosts_option,
    inventory_option,
    known_hosts_option,
    no_color_option,
    no_waivers_option,
    now_option,
    path_option,
    profile_option,
    run_scan,
    snapshot_option,
    ssh_config_option,
    sudo_option,
)

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
    path: Path | None = path_option(),
    host: list[str] = host_option(),
    hosts: list[str] = hosts_option(),
    snapshot: Path | None = snapshot_option(),
    inventory: Path | None = inventory_option(),
    known_hosts: Path | None = known_hosts_option(),
    sudo: bool = sudo_option(),
    ssh_config: Path | None = ssh_config_option(),
    config: Path | None = config_option(),
    profile: str | None = profile_option(),
    category: list[str] = category_option(),
    check_ids: list[str] = check_option(),
    checks_dir: list[Path] = checks_dir_option(),
    no_waivers: bool = no_waivers_option(
        help="Also baseline failures that waivers cover today (not recommended)."
    ),
    now: str | None = now_option(),
    no_color: bool = no_color_option(),
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
