"""`chom-validate all`: scan a tree, a snapshot or hosts; print and write the results."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import typer

from ..findings import Severity, Status
from ..outputs.json import to_json
from ..outputs.text import make_console, render_text
from ..results import RunReport
from .app import app, fail
from .common import (
    ScanArgs,
    accept_new_host_keys_option,
    category_option,
    check_option,
    checks_dir_option,
    command_timeout_option,
    config_option,
    connect_timeout_option,
    exclude_option,
    host_option,
    hosts_option,
    include_option,
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

FORMATS = ("text", "json", "sarif", "junit", "gitlab")


def render(report: RunReport, fmt: str) -> str:
    """Render a report in a machine format (json, sarif, junit, gitlab)."""
    if fmt == "json":
        return to_json(report)
    try:
        mod = importlib.import_module(f"chom_validate.outputs.{fmt}")
    except ModuleNotFoundError:
        fail(f"--format {fmt}: not available in this version")
    return mod.render(report)  # type: ignore[no-any-return]


def write_file(path: Path, content: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")


def exit_code(report: RunReport, fail_on: str | None) -> int:
    if report.target_errors:
        return 2
    if not report.gate.passed:
        return 1
    if fail_on:
        floor = Severity(fail_on).rank
        if any(f.effective_severity.rank >= floor for f in report.failures()):
            return 1
    return 0


@app.command("all")
def all_checks(
    path: Path | None = path_option(),
    host: list[str] = host_option(),
    hosts: list[str] = hosts_option(),
    snapshot: Path | None = snapshot_option(),
    inventory: Path | None = inventory_option(),
    known_hosts: Path | None = known_hosts_option(),
    accept_new_host_keys: bool = accept_new_host_keys_option(),
    sudo: bool = sudo_option(),
    ssh_config: Path | None = ssh_config_option(),
    connect_timeout: float = connect_timeout_option(),
    command_timeout: float = command_timeout_option(),
    jobs: int = typer.Option(4, "--jobs", "-j", help="Hosts scanned in parallel.", rich_help_panel="SSH"),
    config: Path | None = config_option(),
    profile: str | None = profile_option(),
    category: list[str] = category_option(),
    check_ids: list[str] = check_option(),
    checks_dir: list[Path] = checks_dir_option(),
    fmt: str = typer.Option(
        "text", "--format", "-f", help="Output format: text, json, sarif, junit, gitlab."
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Write the --format output to a file (the terminal then shows the summary).",
    ),
    output_json: Path | None = typer.Option(
        None, "--output-json", help="Also write JSON here.", rich_help_panel="CI"
    ),
    output_sarif: Path | None = typer.Option(
        None, "--output-sarif", help="Also write SARIF 2.1.0 here.", rich_help_panel="CI"
    ),
    output_junit: Path | None = typer.Option(
        None, "--output-junit", help="Also write JUnit XML here.", rich_help_panel="CI"
    ),
    output_gitlab: Path | None = typer.Option(
        None, "--output-gitlab", help="Also write GitLab code quality JSON here.", rich_help_panel="CI"
    ),
    fail_on: str | None = typer.Option(
        None,
        "--fail-on",
        help="Exit 1 when any unwaived failure is at least this "
        "severe (critical, high, medium, low), whatever the score.",
        rich_help_panel="CI",
    ),
    baseline: Path | None = typer.Option(
        None, "--baseline", help="Only findings not in this baseline fail.", rich_help_panel="CI"
    ),
    no_waivers: bool = no_waivers_option(),
    include: list[str] = include_option(),
    exclude: list[str] = exclude_option(),
    changed_only: str | None = typer.Option(
        None,
        "--changed-only",
        help="Only artifacts changed since this git ref (plus what cross-artifact checks need).",
        rich_help_panel="CI",
    ),
    prometheus_url: str | None = typer.Option(
        None,
        "--prometheus-url",
        help="Ask a live Prometheus which series exist instead of the bundled metric catalog.",
    ),
    probe_http: list[str] = typer.Option([], "--probe-http", help="Probe this health URL live (repeatable)."),
    no_cache: bool = typer.Option(
        False,
        "--no-cache",
        help="Do not read or write the ShellCheck result cache (also: CHOM_VALIDATE_NO_CACHE=1).",
    ),
    now: str | None = now_option(),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only the score line and the gate."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show every failure and error."),
    no_color: bool = no_color_option(),
) -> None:
    """Run every enabled check against one target and print a scored summary.

    Examples:

      chom-validate all --path examples/chom-deployment

      chom-validate all --host landsraad --host mentat --format json -o results.json

      chom-validate all --path . --profile certified --output-sarif chom.sarif --fail-on high
    """
    if fmt not in FORMATS:
        fail(f"--format {fmt!r}: one of {', '.join(FORMATS)}")
    if fail_on and fail_on not in ("critical", "high", "medium", "low"):
        fail(f"--fail-on {fail_on!r}: one of critical, high, medium, low")
    args = ScanArgs(
        path=path,
        hosts=host,
        host_groups=hosts,
        snapshot=snapshot,
        inventory=inventory,
        known_hosts=known_hosts,
        accept_new_host_keys=accept_new_host_keys,
        sudo=sudo,
        ssh_config=ssh_config,
        connect_timeout=connect_timeout,
        command_timeout=command_timeout,
        config=config,
        profile=profile,
        categories=category,
        only=check_ids,
        checks_dirs=checks_dir,
        jobs=jobs,
        no_waivers=no_waivers,
        baseline=baseline,
        changed_only=changed_only,
        now=now,
        prometheus_url=prometheus_url,
        probe_http=probe_http,
        no_cache=no_cache,
        include=include,
        exclude=exclude,
    )
    err_console = make_console(sys.stderr, no_color=no_color)
    # Per-host progress on stderr while collecting: styled on a terminal, plain lines otherwise
    # (only for SSH runs then, where collection takes long enough to matter in CI logs).
    show_progress = not quiet and (sys.stderr.isatty() or bool(host or hosts))

    def progress(target: str, message: str) -> None:
        if show_progress:
            err_console.print(f"[{target}] {message}", style="dim")  # markup=False: names stay literal

    report, _cfg = run_scan(args, progress=progress)
    console = make_console(no_color=no_color)
    if fmt == "text":
        if output:
            write_file(output, _plain_text(report, quiet, verbose))
        render_text(report, console, quiet=quiet, verbose=verbose)
    else:
        content = render(report, fmt)
        if output:
            write_file(output, content)
            render_text(report, make_console(sys.stderr, no_color=no_color), quiet=True)
        else:
            sys.stdout.write(content)
    for extra_path, extra_fmt in (
        (output_json, "json"),
        (output_sarif, "sarif"),
        (output_junit, "junit"),
        (output_gitlab, "gitlab"),
    ):
        if extra_path:
            write_file(extra_path, render(report, extra_fmt))
    raise typer.Exit(exit_code(report, fail_on))


def _plain_text(report: RunReport, quiet: bool, verbose: bool) -> str:
    import io

    buf = io.StringIO()
    render_text(report, make_console(buf, no_color=True), quiet=quiet, verbose=verbose)
    return buf.getvalue()


__all__ = ["FORMATS", "Status", "exit_code", "render", "write_file"]
