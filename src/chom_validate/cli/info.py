"""`list`, `explain` and `init`: what checks exist, what each means, and a starter config."""

from __future__ import annotations

from pathlib import Path

import typer

from . import listing
from .app import app, fail

# = config.DEFAULT_CONFIG_NAME (tests/test_startup.py): importing config would load the parsers.
DEFAULT_CONFIG_NAME = "chom-validate.yaml"


@app.command("list")
def list_checks(
    category: list[str] = typer.Option([], "--category", help="Only this category (repeatable)."),
    profile: str = typer.Option("certified", "--profile", help="Checks enabled in this profile."),
    checks_dir: list[Path] = typer.Option(
        [], "--checks-dir", help="Also load check modules from a directory."
    ),
    no_color: bool = typer.Option(False, "--no-color", help="Plain output."),
) -> None:
    """List the available checks: id, name, category, severity, pillar and profile."""
    listing.run_list(category, profile, checks_dir, no_color, fail)


@app.command("explain")
def explain(
    check_id: str = typer.Argument(..., metavar="ID", help="Check id, e.g. SYS001."),
    checks_dir: list[Path] = typer.Option(
        [], "--checks-dir", help="Also load check modules from a directory."
    ),
    no_color: bool = typer.Option(False, "--no-color", help="Plain output."),
) -> None:
    """Explain a check: what it does, why it matters, an example, the fix and references."""
    listing.run_explain(check_id, checks_dir, no_color, fail)


INIT_TEMPLATE = """\
# chom-validate configuration. Every key is optional; see `chom-validate --help`.
version: 1
project: CHOM
environment: production
# baseline < hardened < certified: more checks and a higher minimum score at each step.
profile: hardened

# Hosts: how to reach them over SSH, their roles, and (for repository scans) which files belong to each.
hosts:
  mentat:
    address: mentat.example.org      # DNS name or IP
    user: deploy
    port: 22
    # identity_file: ~/.ssh/id_ed25519
    roles: [monitoring]
    path_prefix: /                   # where to read files on the host
    paths: ["mentat/**"]             # repository files describing this host
  landsraad:
    address: landsraad.example.org
    user: deploy
    roles: [app, web, db, cache]
    paths: ["landsraad/**"]

# Who scrapes whom (default: monitoring hosts scrape every host).
topology:
  monitoring_hosts: [mentat]
  scrapes:
    mentat: [mentat, landsraad]

# Narrow discovery in a tree (globs relative to --path).
# include: ["deploy/**", "config/**", "docs/**"]
exclude: ["**/tests/fixtures/**"]

# Scoring: defaults come from the seed certificates; override any key.
# scoring:
#   severity_weights: {critical: 10, high: 5, medium: 2, low: 1}
#   pillar_weights: {security: 25, reliability: 20, code_quality: 15, performance: 15,
#                    observability: 10, operations: 10, compliance: 5}
#   min_score: {baseline: 50, hardened: 70, certified: 90}
#   critical_blocks: true

# Waivers: reason, owner and expiry are required; an expired waiver stops applying.
waivers: []
#  - check: SYS003
#    target: "*"
#    path: "deploy/systemd/legacy-*.service"
#    reason: "legacy exporter needs root until it is replaced (TICKET-123)"
#    owner: ops-team
#    expires: 2027-03-31

# Check ids never to run.
disable: []
"""


@app.command("init")
def init(
    path: Path = typer.Option(Path(DEFAULT_CONFIG_NAME), "--output", "-o", help="Where to write the config."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a commented chom-validate.yaml to start from."""
    if path.exists() and not force:
        fail(f"{path} already exists (use --force to overwrite)")
    try:
        path.write_text(INIT_TEMPLATE, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    typer.echo(f"wrote {path}")
