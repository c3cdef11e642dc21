"""Certification reports: golden renderings, gate honesty, evidence links, canaries, certificates."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chom_validate.attestations import (
    AttestationError,
    AttestationFile,
    attestation_views,
    load_attestations,
)
from chom_validate.certificate import canonical_json, evaluate, issue, results_digest
from chom_validate.config import ScoringConfig
from chom_validate.history import record, trend
from chom_validate.outputs import pdf as pdf_mod
from chom_validate.outputs.json import load_report, to_json
from chom_validate.outputs.report import md_code, md_text, render_report
from chom_validate.outputs.report_view import KINDS
from chom_validate.results import RunReport

from .conftest import EXAMPLE, FIXED_NOW
from .report_samples import CANARY, NOW, sample_report

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CHOM_UPDATE_GOLDEN") == "1"
ATTEST = EXAMPLE / "attestations.yaml"


def render(
    report: RunReport, kind: str, fmt: str, scoring: ScoringConfig | None = None, **kw: object
) -> str | bytes:
    """Render as `report` does: judged by certificate.evaluate, the certificate over that judgement."""
    atts = attestation_views(load_attestations(ATTEST), {}, NOW.date())
    ev = evaluate(report, scoring or ScoringConfig(), NOW.date(), kind=kind)
    cert = issue(ev.report, NOW, evaluation=ev)
    return render_report(ev.report, kind, fmt, NOW, cert, atts, evaluation=ev, **kw)  # type: ignore[arg-type]


def pdf_text(data: bytes, tmp_path: Path) -> str:
    exe = shutil.which("pdftotext")
    if exe is None:
        pytest.skip("pdftotext (poppler-utils) not installed; CI installs it")
    p = tmp_path / "r.pdf"
    p.write_bytes(data)
    return subprocess.run([exe, "-layout", str(p), "-"], capture_output=True, text=True, check=True).stdout


needs_pdf = pytest.mark.skipif(
    not pdf_mod.available(), reason="WeasyPrint not installed (pip install '.[pdf]'); CI installs it"
)


@pytest.mark.parametrize("fmt", ["md", "html"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_golden(kind: str, fmt: str) -> None:
    got = render(sample_report(), kind, fmt)
    assert isinstance(got, str)
    path = GOLDEN / f"{kind}.{fmt}"
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(got, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"golden file {path} was missing and has been written; rerun")
    assert got == path.read_text(encoding="utf-8"), (
        f"{path} differs; if the change is intended rerun with CHOM_UPDATE_GOLDEN=1 and review the diff"
    )


@pytest.mark.parametrize("kind", list(KINDS))
def test_critical_failure_is_not_certified_whatever_the_score(kind: str) -> None:
    report = sample_report()
    # Even with a gate configured not to block on criticals, the document stays NOT CERTIFIED;
    # a kind with its own scope shows the global critical gate separately.
    lenient = ScoringConfig(critical_blocks=False, min_score={"hardened": 0.0})
    for fmt in ("md", "html", "json"):
        text = render(report, kind, fmt, scoring=lenient)
        assert isinstance(text, str)
        assert "NOT CERTIFIED" in text
        if kind == "incident-readiness":
            assert "global critical gate FAILED" in text and "NET001" in text
        else:
            assert "1 unwaived critical failure(s): NET001" in text
    ev = evaluate(report, lenient, NOW.date(), kind=kind)
    assert issue(ev.report, NOW, evaluation=ev).certified is False


def test_clean_run_is_certified() -> None:
    report = sample_report(all_pass=True)
    report.findings = [f for f in report.findings if f.check_id != "DR001"]  # no error results
    ev = evaluate(report, ScoringConfig(), NOW.date())
    assert ev.certified, ev.reasons
    cert = issue(ev.report, NOW, evaluation=ev)
    assert cert.certified and cert.valid_until
    md = render(report, "confidence-certificate", "md")
    assert "**CERTIFIED**" in md and "NOT CERTIFIED" not in md
    assert "Valid until" in md


def test_every_failure_links_check_id_and_evidence() -> None:
    report = sample_report()
    for kind in KINDS:
        md, html = render(report, kind, "md"), render(report, kind, "html")
        assert isinstance(md, str) and isinstance(html, str)
        for f in report.failures():
            loc = f.evidence[0].location()
            assert f"#check-{f.check_id}" in md and loc in md, (kind, loc)
            assert f'href="#check-{f.check_id}"' in html and loc in html, (kind, loc)
        # every anchor target exists
        for cid in set(re.findall(r'href="#check-([A-Z]+\d+)"', html)):
            assert f'id="check-{cid}"' in html
        for cid in set(re.findall(r"\(#check-([A-Z]+\d+)\)", md)):
            assert f'<a id="check-{cid}"></a>' in md


def test_risks_prioritized_with_fix_and_waivers_listed() -> None:
    md = render(sample_report(), "confidence-certificate", "md")
    assert isinstance(md, str)
    risk_table = md.split("## Risk assessment")[1]
    p1 = risk_table.index("| P1 | [NET001]")
    p2 = risk_table.index("| P2 | [MON002]")
    assert p1 < p2
    assert "Apply the documented fix for NET001" in risk_table
    waived = md.split("### Accepted risks (waived)")[1]
    assert "runbook being written in OPS-142" in waived and "2026-12-31" in waived and "ops@chom" in waived
    # the waived finding is not in the risk table
    assert "RedisDown has no runbook_url" not in risk_table.split("### Accepted risks")[0]


def test_machine_results_and_attestations_are_separate() -> None:
    report = sample_report()
    md = render(report, "confidence-certificate", "md")
    html = render(report, "confidence-certificate", "html")
    assert isinstance(md, str) and isinstance(html, str)
    assert "## Human attestations (not machine-verified)" in md
    assert md.count("**PENDING**") == 5  # 4 roles + the explanation sentence
    assert '<section class="human" id="attestations">' in html
    human = html.split('<section class="human" id="attestations">')[1].split("</section>")[0]
    assert "NET001" not in human  # no machine results inside the human section
    assert "Paul Atreides" in human and "PENDING" in human


def test_attestations_never_signed_by_the_tool(tmp_path: Path) -> None:
    views = attestation_views(None, {}, NOW.date())
    assert views and all(v.status == "PENDING" and v.name is None for v in views)
    views = attestation_views(AttestationFile(), {"required_attestations": ["security"]}, NOW.date())
    assert [(v.role, v.status) for v in views] == [("security", "PENDING")]
    future = tmp_path / "a.yaml"
    future.write_text(
        "attestations:\n  - role: security\n    name: A\n    date: 2027-01-01\n    statement: all good\n"
    )
    v = attestation_views(load_attestations(future), {"required_attestations": ["security"]}, NOW.date())
    assert v[0].status == "FUTURE-DATED"
    bad = tmp_path / "bad.yaml"
    bad.write_text("attestations:\n  - role: security\n    name: A\n    statement: ok ok\n")
    with pytest.raises(AttestationError, match=r"bad.yaml:2: attestations.0.date"):
        load_attestations(bad)


def test_example_attestations_validate() -> None:
    data = load_attestations(ATTEST)
    roles = {a.role for a in data.attestations}
    assert roles == {"infrastructure", "operations"}
    assert data.required_roles and "security" in data.required_roles


def test_canary_secret_never_rendered(tmp_path: Path) -> None:
    report = sample_report()
    # the redaction happened in the models; make sure the canary was planted and masked
    raw = report.model_dump_json()
    assert CANARY not in raw and "***REDACTED***" in raw
    formats = ["md", "html", "json"] + (["pdf"] if pdf_mod.available() else [])
    for kind in KINDS:
        for fmt in formats:
            out = render(report, kind, fmt)
            text = pdf_text(out, tmp_path) if isinstance(out, bytes) else out
            assert CANARY not in text, (kind, fmt)


def test_markdown_escaping() -> None:
    assert md_text("a|b <script>") == r"a\|b \<script\>"
    assert md_code("x `y` z") == "``x `y` z``"
    report = sample_report()
    evil = next(f for f in report.findings if f.status == "fail" and not f.suppressed)
    evil.message = "evil <img src=x onerror=alert(1)> | break"
    md = render(report, "validation-report", "md")
    html = render(report, "validation-report", "html")
    assert isinstance(md, str) and isinstance(html, str)
    assert re.search(r"(?<!\\)<img", md) is None and r"\<img" in md
    assert "<img" not in html and "&lt;img" in html


def test_html_is_self_contained() -> None:
    for kind in KINDS:
        html = render(sample_report(), kind, "html")
        assert isinstance(html, str)
        assert "<script" not in html.lower()
        assert not re.search(r'(?:src|href)\s*=\s*"(?:https?:)?//', html), kind
        assert "@import" not in html and "url(" not in html
        assert html.count("<svg") >= 2  # gauge + bars


def test_digest_is_canonical_and_stable() -> None:
    a, b = sample_report(), sample_report()
    b.started_at = b.finished_at = "2030-01-01T00:00:00+00:00"
    b.tool_version = "9.9.9"
    b.targets[0].stats["collect_seconds"] = 3.2
    assert results_digest(a) == results_digest(b)  # volatile fields excluded
    b.findings.reverse()
    assert results_digest(a) == results_digest(b)  # order independent
    assert results_digest(load_report(to_json(a))) == results_digest(a)  # survives the JSON round trip
    blob = canonical_json(a)
    assert b" " not in blob.split(b'"message"')[0][:2] and not blob.startswith(b"{ ")
    b.findings[0].message = "changed"
    assert results_digest(a) != results_digest(b)


def test_certificate_id_and_validity() -> None:
    ok = sample_report(all_pass=True)
    ok.findings = [f for f in ok.findings if f.check_id != "DR001"]
    ev = evaluate(ok, ScoringConfig(), NOW.date())
    cert = issue(ev.report, NOW, days=30, evaluation=ev)
    assert re.fullmatch(r"CHOM-PROD-2026-Q4-[0-9A-F]{8}", cert.id)
    assert cert.valid_until == "2026-12-29" and cert.validity_days == 30
    assert cert.id.endswith(cert.digest[:8].upper())
    # "Valid until" only on a CERTIFIED certificate
    bad = evaluate(sample_report(), ScoringConfig(), NOW.date())
    assert issue(bad.report, NOW, evaluation=bad).valid_until is None
    for fmt in ("md", "html"):
        text = render(sample_report(), "confidence-certificate", fmt)
        assert isinstance(text, str) and "Valid until" not in text and "no validity window" in text


def test_trend_chart_from_history(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    r = sample_report()
    for day, score in (("2026-06-01", 41.0), ("2026-09-01", 55.5), ("2026-11-29", r.scores.overall)):
        r.scores.overall = score
        record(db, r, f"{day}T00:00:00+00:00", results_digest(r))
    points = trend(db, "CHOM", "production")
    assert [p.score for p in points][:2] == [41.0, 55.5]
    html = render(sample_report(), "confidence-certificate", "html", history=points)
    assert isinstance(html, str) and 'class="trend"' in html and "2026-06-01" in html
    assert 'id="trend-delta"' in html and "(+3.6)" in html  # 55.5 -> 59.1 since the previous run
    md = render(sample_report(), "confidence-certificate", "md", history=points)
    assert isinstance(md, str) and "Trend: score 55.5 → 59.1 (+3.6)" in md


def test_pdf_missing_gives_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    with pytest.raises(pdf_mod.PdfUnavailable, match=r"pip install 'chom-validate\[pdf\]'"):
        pdf_mod.html_to_pdf("<p>x</p>")


@needs_pdf
def test_pdf_has_pages_and_text(tmp_path: Path) -> None:
    data = render(sample_report(), "confidence-certificate", "pdf")
    assert isinstance(data, bytes) and data.startswith(b"%PDF")
    text = pdf_text(data, tmp_path)
    assert "NOT CERTIFIED" in text and "Human attestations" in text and "NET001" in text
    assert "\f" in text.strip()  # more than one page


# --- CLI ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_json(tmp_path_factory: pytest.TempPathFactory, example_report: RunReport) -> Path:
    p = tmp_path_factory.mktemp("example") / "results.json"
    p.write_text(to_json(example_report), encoding="utf-8")
    return p


def test_all_kinds_all_formats_for_the_example(example_report: RunReport, tmp_path: Path) -> None:
    """Must show: the five kinds for the example deployment in Markdown, HTML and PDF."""
    formats = ["md", "html"] + (["pdf"] if pdf_mod.available() else [])
    for kind in KINDS:
        for fmt in formats:
            out = render(example_report, kind, fmt)
            text = pdf_text(out, tmp_path) if isinstance(out, bytes) else out
            assert "CHOM-PROD-2026-Q4-" in text and "PENDING" in text, (kind, fmt)
            ev = evaluate(example_report, ScoringConfig(), NOW.date(), kind=kind)
            assert (ev.status in text) and ("NOT CERTIFIED" in text) == (not ev.certified), (kind, fmt)
            for f in example_report.failures()[:20]:
                assert f.check_id in text, (kind, fmt, f.check_id)


def test_cli_report_from_saved_json(cli, example_json: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runs = [("validation-report", "md"), ("confidence-certificate", "html")]
    if pdf_mod.available():
        runs.append(("deployment-certification", "pdf"))
    for kind, fmt in runs:
        out = tmp_path / f"{kind}.{fmt}"
        r = cli(
            "report", "--from", str(example_json), "--kind", kind, "--format", fmt, "-o", str(out),
            "--now", FIXED_NOW, "--attestations", str(ATTEST),
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert out.stat().st_size > 1000 and "CHOM-PROD-2026-Q4-" in r.stderr
        if fmt == "pdf":
            assert out.read_bytes().startswith(b"%PDF")


def test_cli_report_errors(cli, example_json: Path) -> None:  # type: ignore[no-untyped-def]
    r = cli("report", "--from", str(example_json), "--kind", "nope")
    assert r.returncode == 2 and "--kind 'nope'" in r.stderr
    r = cli("report", "--from", str(example_json), "--format", "pdf")
    assert r.returncode == 2 and "needs --output" in r.stderr
    r = cli("report", "--from", "/nonexistent.json")
    assert r.returncode == 2 and "/nonexistent.json" in r.stderr
    r = cli("report", "--from", str(example_json), "--format", "json", "--now", FIXED_NOW)
    assert r.returncode == 0 and '"certificate"' in r.stdout


def test_cli_certify_and_verify_detects_changed_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tree = tmp_path / "deploy"
    shutil.copytree(EXAMPLE, tree)
    cfg = tree / "chom-validate.yaml"
    out = tmp_path / "certs"
    r = cli("certify", "--path", str(tree), "--config", str(cfg), "--now", FIXED_NOW, "-o", str(out))
    assert r.returncode in (0, 1), r.stderr
    cert_dir = next(out.glob("CHOM-PROD-2026-Q4-*"))
    for name in ("certificate.json", "results.json", "certificate.md", "certificate.html"):
        assert (cert_dir / name).is_file()
    assert (out / "history.sqlite").is_file()
    verify = ("verify-certificate", str(cert_dir / "certificate.md"), "--path", str(tree),
              "--config", str(cfg), "--now", FIXED_NOW)  # fmt: skip
    r = cli(*verify)
    # the example is NOT CERTIFIED (critical findings): authentic, but only --allow-not-certified passes
    assert r.returncode == 1, r.stdout + r.stderr
    assert "authentic · NOT CERTIFIED" in r.stdout and "change(s)" not in r.stdout
    r = cli(*verify, "--allow-not-certified")
    assert r.returncode == 0, r.stdout + r.stderr
    changed = next(p for p in sorted(tree.rglob("*.sh")))
    changed.write_text(changed.read_text() + "\necho tampered\n")
    r = cli(*verify, "--allow-not-certified")
    assert r.returncode == 1
    assert f"file-changed: {changed.relative_to(tree).as_posix()}" in r.stdout
    # tampering with the stored results breaks the digest even without a target
    res = cert_dir / "results.json"
    res.write_text(res.read_text().replace('"fail"', '"pass"').replace('"not_applicable"', '"pass"'))
    r = cli("verify-certificate", str(cert_dir), "--now", FIXED_NOW, "--allow-not-certified")
    assert r.returncode == 1 and "does not match the certified" in r.stdout and "NOT AUTHENTIC" in r.stdout


def test_cli_verify_unreadable_certificate(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = cli("verify-certificate", str(tmp_path / "missing.json"))
    assert r.returncode == 2 and "cannot read certificate" in r.stderr
