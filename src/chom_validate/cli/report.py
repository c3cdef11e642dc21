"""`report`, `certify` and `verify-certificate`: certification documents from scored results.

Every document is judged by ``certificate.evaluate``: baselined failures count as open, a waiver
counts only while in force (never with --no-waivers, also with --from), hosts that could not be
scanned are unknown (exit 2, named with the reason), and each required area needs evidence.
"""

from __future__ import annotations

import datetime as dt
import shlex
import sys
from pathlib import Path

import typer

from ..attestations import AttestationError, AttestationView, attestation_views, find_attestations
from ..attestations import load_attestations as _load_attestations
from ..certificate import (
    Certificate,
    Change,
    Evaluation,
    diff_files,
    diff_findings,
    evaluate,
    evidence_digests,
    issue,
    issue_time,
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
from ..signing import SigningError, sign, verify
from ..verification import check_material, load_material
from .app import app, fail
from .common import (
    ScanArgs,
    accept_new_host_keys_option,
    build_registry,
    checks_dir_option,
    command_timeout_option,
    config_option,
    connect_timeout_option,
    host_option,
    hosts_option,
    inventory_option,
    known_hosts_option,
    load_cfg,
    no_waivers_option,
    now_option,
    parse_now,
    path_option,
    profile_option,
    run_scan,
    snapshot_option,
    ssh_config_option,
    sudo_option,
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
_known_hosts = known_hosts_option()
_accept_new = accept_new_host_keys_option()
_sudo = sudo_option()
_ssh_config = ssh_config_option()
_connect_timeout = connect_timeout_option()
_command_timeout = command_timeout_option()
_checks_dir = checks_dir_option()


class Conn:
    """The connection options of `all`, passed through unchanged."""

    def __init__(self, **kw: object) -> None:
        self.kw = kw


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
    conn: Conn | None = None,
) -> ScanArgs:
    return ScanArgs(
        **(conn.kw if conn else {}),  # type: ignore[arg-type]
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
    ev: Evaluation,
    kind: str,
    fmt: str,
    now: dt.datetime,
    cert: Certificate,
    atts: list[AttestationView],
    history_db: Path | None,
    cfg: Config,
    verify_command: str = "",
) -> str | bytes:
    try:
        return render_report(
            ev.report,
            kind,
            fmt,
            now,
            cert,
            atts,
            trend(history_db, ev.report.project, ev.report.environment),
            [(b.name, b.min) for b in cfg.scoring.bands],
            evaluation=ev,
            verify_command=verify_command,
        )
    except PdfUnavailable as exc:
        fail(str(exc))


def _history_path(explicit: Path | None, cfg: Config) -> Path | None:
    if explicit is not None:
        return explicit
    configured = cfg.reports.get("history")
    return Path(str(configured)) if configured else None


def _config_line(cfg: Config, report: RunReport) -> None:
    """Which chom-validate.yaml judged this run (auditors ask; a stray ./chom-validate.yaml matters)."""
    src = cfg.source or report.config_source
    sys.stderr.write(f"config: {Path(src).resolve() if src else 'none (built-in defaults)'}\n")


def _check_waiver_ids(cfg: Config, known: set[str]) -> None:
    """A waiver naming a check that does not exist waives nothing: a config error, with its line."""
    for i, w in enumerate(cfg.waivers):
        if w.check not in known:
            line = cfg.waiver_lines[i] if i < len(cfg.waiver_lines) else 0
            fail(
                f"{cfg.source or 'config'}:{line or 1}: waivers.{i}.check: no check {w.check} "
                "(see `chom-validate list`); a waiver for an unknown check waives nothing"
            )


def _judge(report: RunReport, cfg: Config, today: dt.date, kind: str, no_waivers: bool) -> Evaluation:
    return evaluate(report, cfg.scoring, today, kind=kind, use_waivers=not no_waivers)


def _unreached(ev: Evaluation) -> bool:
    for host, why in ev.unreached:
        sys.stderr.write(f"chom-validate: error: {host} could not be scanned: {why}\n")
    if ev.unreached:
        sys.stderr.write(
            "chom-validate: every check about an unreached host is 'error' (not assessed); "
            "the document says NOT CERTIFIED: incomplete evidence\n"
        )
    return bool(ev.unreached)


def _scan(args: ScanArgs) -> tuple[RunReport, Config]:
    report, cfg = run_scan(args)
    return report, cfg


def _load_from(from_json: Path, config: Path | None) -> tuple[RunReport, Config]:
    try:
        report = load_report(from_json.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"--from {from_json}: {exc.strerror or exc}")
    except ValueError as exc:
        fail(f"--from {from_json}: not a chom-validate JSON result ({str(exc).splitlines()[0]})")
    src = config or (Path(report.config_source) if report.config_source else None)
    cfg = load_cfg(src) if src is not None and src.is_file() else load_cfg(config)
    _check_waiver_ids(cfg, {c.id for c in report.checks} | set(build_registry([]).checks))
    return report, cfg


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
    known_hosts: Path | None = _known_hosts,
    accept_new_host_keys: bool = _accept_new,
    sudo: bool = _sudo,
    ssh_config: Path | None = _ssh_config,
    connect_timeout: float = _connect_timeout,
    command_timeout: float = _command_timeout,
    checks_dir: list[Path] = _checks_dir,
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
    human attestations are a separate section. Baselined failures count as open. Exit 0 when the
    document was written (the verdict is inside it; use `certify` for a gating exit code), 2 on
    usage or input errors and when a host could not be scanned (named with the reason).
    """
    if kind not in KINDS:
        fail(f"--kind {kind!r}: one of {', '.join(KINDS)}")
    if fmt not in REPORT_FORMATS:
        fail(f"--format {fmt!r}: one of {', '.join(REPORT_FORMATS)}")
    if fmt == "pdf" and output is None:
        fail("--format pdf needs --output FILE")
    conn = Conn(
        known_hosts=known_hosts,
        accept_new_host_keys=accept_new_host_keys,
        sudo=sudo,
        ssh_config=ssh_config,
        connect_timeout=connect_timeout,
        command_timeout=command_timeout,
        checks_dirs=checks_dir,
    )
    if from_json is not None:
        if path or host or hosts or snapshot:
            fail("give either --from FILE or a target (--path/--host/--snapshot), not both")
        report, cfg = _load_from(from_json, config)
        clock = issue_time(report, parse_now(now))  # re-rendering a saved run keeps its issue time
    else:
        clock = _clock(now)
        report, cfg = _scan(
            _scan_args(path, host, hosts, snapshot, inventory, config, profile, no_waivers, now, conn)
        )
    _config_line(cfg, report)
    ev = _judge(report, cfg, clock.date(), kind, no_waivers)
    cert = issue(ev.report, clock, _days(cfg, validity), evaluation=ev)
    atts = _attestations(attestations, cfg, path, clock.date())
    verify_cmd = (
        f"chom-validate verify-certificate {shlex.quote(str(output.resolve()))}"
        if output is not None and fmt in ("md", "html", "pdf")
        else ""
    )
    _write(output, _render(ev, kind, fmt, clock, cert, atts, _history_path(history, cfg), cfg, verify_cmd))
    if output is not None:
        sys.stderr.write(f"wrote {kind} ({fmt}) to {output}: {cert.id} {cert.status}\n")
    if _unreached(ev):
        raise typer.Exit(2)


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
    known_hosts: Path | None = _known_hosts,
    accept_new_host_keys: bool = _accept_new,
    sudo: bool = _sudo,
    ssh_config: Path | None = _ssh_config,
    connect_timeout: float = _connect_timeout,
    command_timeout: float = _command_timeout,
    checks_dir: list[Path] = _checks_dir,
    config: Path | None = _config,
    profile: str | None = _profile,
    no_waivers: bool = _no_waivers,
    now: str | None = _now,
    attestations: Path | None = _attest,
    history: Path | None = typer.Option(
        None, "--history", help="SQLite run history (default: DIR/history.sqlite)."
    ),
    validity: int | None = typer.Option(None, "--validity-days", help="Validity window (default 90)."),
    sign_key: Path | None = typer.Option(
        None,
        "--sign-key",
        help="Sign the certificate with this SSH private key (ssh-keygen -Y sign); "
        "verify with `verify-certificate --allowed-signers FILE`.",
    ),
) -> None:
    """Scan, score and issue the confidence certificate (the quarterly one-step path).

    Writes DIR/<id>/results.json, certificate.json (id, status, digest, seal, file digests) and the
    certificate document(s), each carrying a machine-readable block so it verifies on its own, and
    records the run in the history. Exit 0 CERTIFIED, 1 NOT CERTIFIED (an unwaived critical failure,
    a baselined failure, a required area without evidence), 2 on errors and when a host could not be
    scanned.
    """
    bad = [f for f in formats if f not in ("md", "html", "pdf")]
    if bad:
        fail(f"--format {bad[0]!r}: one of md, html, pdf")
    clock = _clock(now)
    conn = Conn(
        known_hosts=known_hosts,
        accept_new_host_keys=accept_new_host_keys,
        sudo=sudo,
        ssh_config=ssh_config,
        connect_timeout=connect_timeout,
        command_timeout=command_timeout,
        checks_dirs=checks_dir,
    )
    report, cfg = _scan(
        _scan_args(path, host, hosts, snapshot, inventory, config, profile, no_waivers, now, conn)
    )
    _config_line(cfg, report)
    ev = _judge(report, cfg, clock.date(), "confidence-certificate", no_waivers)
    digests = tree_digests(path) if path is not None and path.is_dir() else evidence_digests(report)
    cert = issue(ev.report, clock, _days(cfg, validity), file_digests=digests, evaluation=ev)
    if sign_key is not None:
        try:
            cert.signature = sign(cert.sealed_bytes(), sign_key)
        except SigningError as exc:
            fail(str(exc))
    atts = _attestations(attestations, cfg, path, clock.date())
    dest = (out_dir / cert.id).resolve()
    hist = _history_path(history, cfg) or out_dir / "history.sqlite"
    try:
        record(hist, ev.report, cert.issued_at, cert.digest, cert.id)
    except OSError as exc:
        fail(f"cannot record history in {hist}: {exc}")
    rescan = f" --path {shlex.quote(str(path.resolve()))}" if path is not None else ""
    if report.config_source:
        rescan += f" --config {shlex.quote(str(Path(report.config_source).resolve()))}"
    verify_cmd = f"chom-validate verify-certificate {shlex.quote(str(dest / 'certificate.json'))}{rescan}"
    docs = {
        f: _render(ev, "confidence-certificate", f, clock, cert, atts, hist, cfg, verify_cmd)
        for f in dict.fromkeys(formats)
    }
    _write(dest / cert.results_file, to_json(ev.report))
    _write(dest / "certificate.json", cert.model_dump_json(indent=2) + "\n")
    for f, content in docs.items():
        _write(dest / f"certificate.{f}", content)
    score = "-" if cert.score is None else f"{cert.score:.1f}"
    until = f", valid until {cert.valid_until}" if cert.valid_until else ""
    typer.echo(f"{cert.id}: {cert.status} (score {score}{until})")
    for r in cert.gate_reasons:
        typer.echo(f"  - {r}")
    for item in cert.not_looked_at:
        typer.echo(f"  not looked at: {item}")
    typer.echo(
        f"stored in {dest}/ (certificate.json, {cert.results_file}, {', '.join(f'certificate.{f}' for f in docs)})"
    )
    typer.echo(f"verify: {verify_cmd}")
    if _unreached(ev):
        raise typer.Exit(2)
    raise typer.Exit(0 if cert.certified else 1)


@app.command("verify-certificate")
def verify_cmd(
    certificate: Path = typer.Argument(
        ...,
        help="certificate.json or its directory, or a rendered certificate (.md, .html, .pdf) on its own.",
    ),
    path: Path | None = _path,
    host: list[str] = _host,
    hosts: list[str] = _hosts,
    snapshot: Path | None = _snapshot,
    inventory: Path | None = _inventory,
    known_hosts: Path | None = _known_hosts,
    accept_new_host_keys: bool = _accept_new,
    sudo: bool = _sudo,
    ssh_config: Path | None = _ssh_config,
    connect_timeout: float = _connect_timeout,
    command_timeout: float = _command_timeout,
    checks_dir: list[Path] = _checks_dir,
    config: Path | None = _config,
    profile: str | None = typer.Option(None, "--profile", help="Default: the certificate's profile."),
    now: str | None = _now,
    allowed_signers: Path | None = typer.Option(
        None,
        "--allowed-signers",
        help="ssh allowed_signers file: require a signature by one of these keys (ssh-keygen -Y verify).",
    ),
    allow_not_certified: bool = typer.Option(
        False,
        "--allow-not-certified",
        help="Exit 0 for an authentic certificate whatever its status (default: only CERTIFIED passes).",
    ),
) -> None:
    """Check that a certificate is authentic and what it certifies; with a target, what changed since.

    Authentic: the results digest recomputes, the id matches the digest and issue date, the sealed
    fields and (for md/html) the document's text are unchanged, the verdict matches the results, and
    (with --allowed-signers) an allowed key signed it. The verdict line separates authenticity from
    status: "authentic · NOT CERTIFIED" exits 1 unless --allow-not-certified. Exit 0 only when
    authentic, CERTIFIED, not expired and (with a target) unchanged; 2 when it cannot be read.
    """
    try:
        m = load_material(certificate)
    except (ValueError, PdfUnavailable) as exc:
        fail(str(exc))
    cert = m.cert
    problems = check_material(m)
    signer = None
    if allowed_signers is not None:
        if not cert.signature:
            problems.append("the certificate is not signed, but --allowed-signers requires a signature")
        else:
            try:
                signer = verify(cert.sealed_bytes(), cert.signature, allowed_signers)
            except SigningError as exc:
                problems.append(str(exc))
    clock = _clock(now)
    changes: list[Change] = []
    if cert.valid_until and clock.date() > dt.date.fromisoformat(cert.valid_until):
        changes.append(Change(kind="expired", detail=f"valid until {cert.valid_until}, now {clock.date()}"))
    typer.echo(
        f"{cert.id}: {cert.kind}, issued {cert.issued_at}"
        + (f", valid until {cert.valid_until}" if cert.valid_until else "")
    )
    typer.echo(f"read from {m.source}")
    typer.echo(f"digest sha256:{cert.digest}")
    for p in problems:
        typer.echo(f"  tampered: {p}")
    if cert.signature and allowed_signers is None:
        typer.echo("  signed (give --allowed-signers FILE to check who signed it)")
    elif signer:
        typer.echo(f"  signed by {signer}")
    if (path or host or hosts or snapshot) and not problems:
        conn = Conn(
            known_hosts=known_hosts,
            accept_new_host_keys=accept_new_host_keys,
            sudo=sudo,
            ssh_config=ssh_config,
            connect_timeout=connect_timeout,
            command_timeout=command_timeout,
            checks_dirs=checks_dir,
        )
        new, cfg = _scan(
            _scan_args(
                path, host, hosts, snapshot, inventory, config, profile or cert.profile, False, now, conn
            )
        )
        ev = _judge(new, cfg, clock.date(), cert.kind, False)
        import json as _json

        changes += diff_findings(_json.loads(m.results), ev.report)
        if path is not None and path.is_dir() and cert.file_digests:
            changes += diff_files(cert.file_digests, tree_digests(path))
        elif m.report is not None:
            old_ev, new_ev = evidence_digests(m.report), evidence_digests(new)
            changes += [c for c in diff_files(old_ev, new_ev) if c.kind == "file-changed"]
        now_digest = results_digest(ev.report)
        typer.echo(
            f"rescan: results digest {'unchanged' if now_digest == cert.digest else 'changed'} (sha256:{now_digest})"
        )
    for c in changes:
        typer.echo(f"  {c.kind}: {c.detail}")
    authentic = not problems
    verdict = ("authentic" + (" (signed)" if signer else "")) if authentic else "NOT AUTHENTIC"
    typer.echo(
        f"{cert.id}: {verdict} · {cert.status}"
        + (f" · {len(changes)} change(s) since issue" if changes else "")
    )
    if not authentic or changes:
        raise typer.Exit(1)
    if not cert.certified and not allow_not_certified:
        raise typer.Exit(1)


from . import diff as _diff  # noqa: E402,F401  (registers `chom-validate diff`)
