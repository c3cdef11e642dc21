"""`report`, `certify` and `verify-certificate`: certification documents from scored results."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import typer

from ..attestations import AttestationError, AttestationView, attestation_views, find_attestations
from ..attestations import load_attestations as _load_attestations
from ..certificate import (
    Certificate,
    Change,
    diff_files,
    diff_findings,
    evidence_digests,
    issue,
    load_certificate,
    results_digest,
    tree_digests,
    validity_days,
)
from ..config import Config
from ..history import record, trend
from ..outputs.json import load_report, to_json
from ..outputs.pdf import PdfUnavailable
from ..outputs.report import render_report
from ..outputs.report_view import KINDS
from ..results import RunReport
from .app import app, fail
from .common import (
    ScanArgs,
    config_option,
    host_option,
    hosts_option,
    inventory_option,
    load_cfg,
    no_waivers_option,
    now_option,
    parse_now,
    path_option,
    profile_option,
    run_scan,
    snapshot_option,
)

REPORT_FORMATS = ("md", "html", "pdf", "json")
# Options shared by the three commands (typer needs them spelled out per command); the target
# options are those of `all` (see .common).
_path = path_option()
_host = host_option()
_hosts = hosts_option()
_snapshot = snapshot_option()
_inventory = inventory_option()
_config = config_option(help="chom-validate.yaml (reports: validity_days, ...).")
_profile = profile_option()
_no_waivers = no_waivers_option()
_now = now_option(hidden=False)
_attest = typer.Option(
    None, "--attestations", "-a", help="attestations.yaml (default: beside the config or in --path)."
)


def _scan_args(
    path: Path | None,
    host: list[str],
    hosts: list[str],
    snapshot: Path | None,
    inventory: Path | None,
    config: Path | None,
    profile: str | None,
    no_waivers: bool,
    now: str | None,
) -> ScanArgs:
    return ScanArgs(
        path=path,
        hosts=host,
        host_groups=hosts,
        snapshot=snapshot,
        inventory=inventory,
        config=config,
        profile=profile,
        no_waivers=no_waivers,
        now=now,
    )


def _clock(now: str | None) -> dt.datetime:
    return parse_now(now) or dt.datetime.now(dt.UTC).replace(microsecond=0)


def _days(cfg: Config, override: int | None) -> int:
    if override is not None:
        if override < 1:
            fail("--validity-days must be at least 1")
        return override
    try:
        return validity_days(cfg.reports)
    except ValueError as exc:
        fail(f"{cfg.source or 'config'}: {exc}")


def _attestations(
    explicit: Path | None, cfg: Config, path: Path | None, today: dt.date
) -> list[AttestationView]:
    if explicit is not None and not explicit.is_file():
        fail(f"--attestations {explicit}: file not found")
    src = find_attestations(explicit, Path(cfg.source) if cfg.source else None, path)
    try:
        data = _load_attestations(src) if src else None
    except AttestationError as exc:
        fail(str(exc))
    return attestation_views(data, cfg.reports, today)


def _write(output: Path | None, content: str | bytes) -> None:
    if output is None:
        if isinstance(content, bytes):
            fail("--format pdf needs --output FILE")
        sys.stdout.write(content)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            output.write_bytes(content)
        else:
            output.write_text(content, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")


def _render(
    report: RunReport,
    kind: str,
    fmt: str,
    now: dt.datetime,
    cert: Certificate,
    atts: list[AttestationView],
    history_db: Path | None,
    cfg: Config,
) -> str | bytes:
    try:
        return render_report(
            report,
            kind,
            fmt,
            now,
            cert,
            atts,
            trend(history_db, report.project, report.environment),
            [(b.name, b.min) for b in cfg.scoring.bands],
        )
    except PdfUnavailable as exc:
        fail(str(exc))


def _history_path(explicit: Path | None, cfg: Config) -> Path | None:
    if explicit is not None:
        return explicit
    configured = cfg.reports.get("history")
    return Path(str(configured)) if configured else None


@app.command("report")
def report_cmd(
    kind: str = typer.Option("validation-report", "--kind", "-k", help=f"Report kind: {', '.join(KINDS)}."),
    fmt: str = typer.Option("md", "--format", "-f", help="md, html, pdf (needs the pdf extra) or json."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here (default: stdout)."),
    from_json: Path | None = typer.Option(
        None, "--from", help="Render a saved JSON result (`all --format json`) without rescanning."
    ),
    path: Path | None = _path,
    host: list[str] = _host,
    hosts: list[str] = _hosts,
    snapshot: Path | None = _snapshot,
    inventory: Path | None = _inventory,
    config: Path | None = _config,
    profile: str | None = _profile,
    no_waivers: bool = _no_waivers,
    now: str | None = _now,
    attestations: Path | None = _attest,
    history: Path | None = typer.Option(None, "--history", help="SQLite run history for the trend chart."),
    validity: int | None = typer.Option(None, "--validity-days", help="Validity window (default 90)."),
) -> None:
    """Render a certification report from a saved result (--from) or a fresh scan.

    Every result in the document names its check id and evidence (file:line or host and command);
    human attestations are a separate section. Exit 0 when the document was written (the verdict is
    inside it; use `certify` or `all` for a gating exit code), 2 on usage or input errors.
    """
    if kind not in KINDS:
        fail(f"--kind {kind!r}: one of {', '.join(KINDS)}")
    if fmt not in REPORT_FORMATS:
        fail(f"--format {fmt!r}: one of {', '.join(REPORT_FORMATS)}")
    if fmt == "pdf" and output is None:
        fail("--format pdf needs --output FILE")
    clock = _clock(now)
    if from_json is not None:
        if path or host or hosts or snapshot:
            fail("give either --from FILE or a target (--path/--host/--snapshot), not both")
        try:
            report = load_report(from_json.read_text(encoding="utf-8"))
        except OSError as exc:
            fail(f"--from {from_json}: {exc.strerror or exc}")
        except ValueError as exc:
            fail(f"--from {from_json}: not a chom-validate JSON result ({str(exc).splitlines()[0]})")
        src = config or (Path(report.config_source) if report.config_source else None)
        cfg = load_cfg(src) if src is not None and src.is_file() else load_cfg(config)
    else:
        report, cfg = run_scan(
            _scan_args(path, host, hosts, snapshot, inventory, config, profile, no_waivers, now)
        )
    cert = issue(report, clock, _days(cfg, validity))
    atts = _attestations(attestations, cfg, path, clock.date())
    _write(output, _render(report, kind, fmt, clock, cert, atts, _history_path(history, cfg), cfg))
    if output is not None:
        sys.stderr.write(
            f"wrote {kind} ({fmt}) to {output}: {cert.id} {'CERTIFIED' if cert.certified else 'NOT CERTIFIED'}\n"
        )


@app.command("certify")
def certify_cmd(
    out_dir: Path = typer.Option(
        Path("certificates"), "--out-dir", "-o", help="Store the certificate under DIR/<certificate id>/."
    ),
    formats: list[str] = typer.Option(
        ["md", "html"],
        "--format",
        "-f",
        help="Formats of the certificate document (repeatable): md, html, pdf.",
    ),
    path: Path | None = _path,
    host: list[str] = _host,
    hosts: list[str] = _hosts,
    snapshot: Path | None = _snapshot,
    inventory: Path | None = _inventory,
    config: Path | None = _config,
    profile: str | None = _profile,
    no_waivers: bool = _no_waivers,
    now: str | None = _now,
    attestations: Path | None = _attest,
    history: Path | None = typer.Option(
        None, "--history", help="SQLite run history (default: DIR/history.sqlite)."
    ),
    validity: int | None = typer.Option(None, "--validity-days", help="Validity window (default 90)."),
) -> None:
    """Scan, score and issue the confidence certificate (the quarterly one-step path).

    Writes DIR/<id>/results.json, certificate.json (id, validity, digest, file digests) and the
    certificate document(s), and records the run in the history. Exit 0 CERTIFIED, 1 NOT CERTIFIED
    (an unwaived critical failure is NOT CERTIFIED whatever the score), 2 on errors.
    """
    bad = [f for f in formats if f not in ("md", "html", "pdf")]
    if bad:
        fail(f"--format {bad[0]!r}: one of md, html, pdf")
    clock = _clock(now)
    report, cfg = run_scan(
        _scan_args(path, host, hosts, snapshot, inventory, config, profile, no_waivers, now)
    )
    digests = tree_digests(path) if path is not None and path.is_dir() else evidence_digests(report)
    cert = issue(report, clock, _days(cfg, validity), file_digests=digests)
    atts = _attestations(attestations, cfg, path, clock.date())
    dest = out_dir / cert.id
    hist = _history_path(history, cfg) or out_dir / "history.sqlite"
    try:
        record(hist, report, cert.issued_at, cert.digest, cert.id)
    except OSError as exc:
        fail(f"cannot record history in {hist}: {exc}")
    docs = {
        f: _render(report, "confidence-certificate", f, clock, cert, atts, hist, cfg)
        for f in dict.fromkeys(formats)
    }
    _write(dest / cert.results_file, to_json(report))
    _write(dest / "certificate.json", cert.model_dump_json(indent=2) + "\n")
    for f, content in docs.items():
        _write(dest / f"certificate.{f}", content)
    verdict = "CERTIFIED" if cert.certified else "NOT CERTIFIED"
    score = "-" if cert.score is None else f"{cert.score:.1f}"
    typer.echo(f"{cert.id}: {verdict} (score {score}, valid until {cert.valid_until})")
    for r in cert.gate_reasons:
        typer.echo(f"  - {r}")
    typer.echo(
        f"stored in {dest}/ (certificate.json, {cert.results_file}, {', '.join(f'certificate.{f}' for f in docs)})"
    )
    raise typer.Exit(0 if cert.certified else 1)


@app.command("verify-certificate")
def verify_cmd(
    certificate: Path = typer.Argument(
        ..., help="certificate.json, its directory, or a rendered certificate beside it."
    ),
    path: Path | None = _path,
    host: list[str] = _host,
    hosts: list[str] = _hosts,
    snapshot: Path | None = _snapshot,
    inventory: Path | None = _inventory,
    config: Path | None = _config,
    profile: str | None = typer.Option(None, "--profile", help="Default: the certificate's profile."),
    now: str | None = _now,
) -> None:
    """Recompute a certificate's digest and, given a target, report what changed since it was issued.

    Exit 0 when the digest matches, the certificate is still valid and (with a target) nothing
    changed; 1 on any mismatch (tampered results, expired, new or fixed failures, changed files);
    2 when the certificate cannot be read.
    """
    try:
        cert, cert_path = load_certificate(certificate)
    except ValueError as exc:
        fail(str(exc))
    results_path = cert_path.parent / cert.results_file
    try:
        issued_report = load_report(results_path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"{results_path}: cannot read the certified results: {exc.strerror or exc}")
    except ValueError as exc:
        fail(f"{results_path}: not a chom-validate JSON result ({str(exc).splitlines()[0]})")
    changes: list[Change] = []
    recomputed = results_digest(issued_report)
    if recomputed != cert.digest:
        changes.append(
            Change(kind="digest", detail=f"{results_path} digest {recomputed} != certified {cert.digest}")
        )
    clock = _clock(now)
    if clock.date() > dt.date.fromisoformat(cert.valid_until):
        changes.append(Change(kind="expired", detail=f"valid until {cert.valid_until}, now {clock.date()}"))
    typer.echo(
        f"{cert.id}: issued {cert.issued_at}, valid until {cert.valid_until}, {'CERTIFIED' if cert.certified else 'NOT CERTIFIED'}"
    )
    typer.echo(f"digest: {'OK' if recomputed == cert.digest else 'MISMATCH'} sha256:{cert.digest}")
    if path or host or hosts or snapshot:
        new, _cfg = run_scan(
            _scan_args(path, host, hosts, snapshot, inventory, config, profile or cert.profile, False, now)
        )
        changes += diff_findings(issued_report, new)
        if path is not None and path.is_dir() and cert.file_digests:
            changes += diff_files(cert.file_digests, tree_digests(path))
        else:
            old_ev, new_ev = evidence_digests(issued_report), evidence_digests(new)
            changes += [c for c in diff_files(old_ev, new_ev) if c.kind == "file-changed"]
        now_digest = results_digest(new)
        typer.echo(
            f"rescan: results digest {'unchanged' if now_digest == cert.digest else 'changed'} (sha256:{now_digest})"
        )
    for c in changes:
        typer.echo(f"  {c.kind}: {c.detail}")
    if changes:
        typer.echo(f"certificate {cert.id} does NOT match: {len(changes)} change(s)")
        raise typer.Exit(1)
    typer.echo(f"certificate {cert.id} verified")
