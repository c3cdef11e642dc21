"""Certificates as an auditor tries them: baselines, evidence coverage, unreached hosts, tampering,
self-verifying documents (md/html/pdf), signatures, the printed verify command, diff."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chom_validate.certificate import canonical_json, evaluate, issue, results_digest
from chom_validate.config import ScoringConfig
from chom_validate.findings import Evidence, Finding, Severity, Status, Suppression
from chom_validate.outputs import pdf as pdf_mod
from chom_validate.outputs.json import load_report, to_json
from chom_validate.outputs.report import render_report
from chom_validate.outputs.report_view import build_view
from chom_validate.verification import Material, check_material, encode_block, load_material

from .conftest import EXAMPLE, FIXED_NOW
from .report_samples import NOW, sample_report

needs_pdf = pytest.mark.skipif(
    not (pdf_mod.available() and shutil.which("pdfdetach") and shutil.which("pdftotext")),
    reason="WeasyPrint and poppler-utils (pdfdetach, pdftotext) needed; CI installs them",
)


def _clean():  # type: ignore[no-untyped-def]
    r = sample_report(all_pass=True)
    r.findings = [f for f in r.findings if f.check_id != "DR001"]
    return r


def _cert(report, kind: str = "confidence-certificate"):  # type: ignore[no-untyped-def]
    ev = evaluate(report, ScoringConfig(), NOW.date(), kind=kind)
    return ev, issue(ev.report, NOW, evaluation=ev)


# --- 1. baselines never certify; waivers are accepted risks ------------------------------------


def test_baseline_never_certifies() -> None:
    report = _clean()
    assert _cert(report)[0].certified
    dep = next(f for f in report.findings if f.check_id == "DEP001")
    dep.status, dep.effective_severity = Status.FAIL, Severity.CRITICAL
    dep.suppressed = Suppression(kind="baseline", reason="known before", source="b.json:8")
    ev, cert = _cert(report)
    assert not ev.certified and not cert.certified and cert.valid_until is None
    assert any("baselined failure(s) count as open" in r for r in ev.reasons)
    assert any("unwaived critical failure(s): DEP001" in r for r in ev.reasons)
    md = render_report(ev.report, "confidence-certificate", "md", NOW, cert, evaluation=ev)
    assert isinstance(md, str) and "counted as open" in md and "b.json:8" in md
    assert "owner ; expires None" not in md and "WAIVED** [DEP001]" not in md


def test_expired_waiver_and_no_waivers() -> None:
    report = sample_report()
    waived = next(f for f in report.findings if f.suppressed)
    assert waived.suppressed is not None and waived.suppressed.owner and waived.suppressed.expires
    ev, _ = _cert(report)
    view = build_view(ev.report, "confidence-certificate", NOW, _cert(report)[1], evaluation=ev)
    assert [w.waiver["owner"] for w in view.waived] == ["ops@chom"]  # reason, owner, expiry present
    no = evaluate(report, ScoringConfig(), NOW.date(), use_waivers=False)
    assert not any(f.suppressed for f in no.report.findings)
    later = evaluate(report, ScoringConfig(), NOW.date().replace(year=2027))  # waiver expired since
    assert not any(f.suppressed for f in later.report.findings)
    assert any(f.data.get("expired_waiver") for f in later.report.findings)


def test_cli_baseline_then_report_from_and_no_waivers(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, res = tmp_path / "b.json", tmp_path / "r.json"
    cfg = EXAMPLE / "chom-validate.yaml"
    r = cli(
        "baseline",
        "create",
        "-o",
        str(base),
        "--path",
        str(EXAMPLE),
        "--config",
        str(cfg),
        "--now",
        FIXED_NOW,
    )
    assert r.returncode == 0, r.stderr
    r = cli("all", "--path", str(EXAMPLE), "--config", str(cfg), "--baseline", str(base), "--now", FIXED_NOW,
            "--format", "json", "-o", str(res))  # fmt: skip
    assert r.returncode == 0, r.stderr  # the merge gate passes: nothing new
    out = tmp_path / "c.md"
    r = cli("report", "--kind", "confidence-certificate", "--from", str(res), "-o", str(out))
    assert r.returncode == 0, r.stderr
    md = out.read_text()
    assert "**NOT CERTIFIED**" in md and "baselined failure(s) count as open" in md
    assert f"config: {cfg.resolve()}" in r.stderr  # which chom-validate.yaml judged it
    # --no-waivers works with --from: the sample's waived finding counts again
    sample = tmp_path / "s.json"
    sample.write_text(to_json(sample_report()))
    r1 = cli("report", "--kind", "confidence-certificate", "--from", str(sample), "--format", "json")
    r2 = cli(
        "report",
        "--kind",
        "confidence-certificate",
        "--from",
        str(sample),
        "--format",
        "json",
        "--no-waivers",
    )
    assert r1.returncode == r2.returncode == 0, r1.stderr + r2.stderr
    assert json.loads(r1.stdout)["summary"]["waived"] == 1
    assert json.loads(r2.stdout)["summary"]["waived"] == 0


def test_waiver_for_unknown_check_is_a_config_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "deploy.sh").write_text("#!/bin/bash\nset -euo pipefail\necho hi\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "waivers:\n  - check: DEP001\n    reason: fine for now\n    owner: ops\n    expires: 2030-01-01\n"
        "  - check: XYZ999\n    reason: typo in the id\n    owner: ops\n    expires: 2030-01-01\n"
    )
    for cmd in ("all", "certify"):
        r = cli(cmd, "--path", str(tree), "--config", str(cfg), "-o", str(tmp_path / "o"))
        assert r.returncode == 2, (cmd, r.stdout, r.stderr)
        assert f"{cfg}:6: waivers.1.check: no check XYZ999" in r.stderr


# --- 2. evidence coverage -------------------------------------------------------------------------


def test_one_script_tree_is_not_certified_insufficient_evidence(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tree = tmp_path / "hi"
    tree.mkdir()
    (tree / "deploy.sh").write_text("#!/bin/bash\nset -euo pipefail\necho hi\n")
    for profile in ("hardened", "certified"):
        out = tmp_path / f"out-{profile}"
        r = cli("certify", "--path", str(tree), "--profile", profile, "-o", str(out), "--now", FIXED_NOW)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "NOT CERTIFIED: insufficient evidence" in r.stdout
        for area in ("Services (systemd units)", "Network (firewall, DNS, TLS)", "Monitoring and alerting"):
            assert area in r.stdout
        if profile == "certified":
            assert (
                "Backups" in r.stdout and "Disaster recovery" in r.stdout and "Incident response" in r.stdout
            )
        md = next(out.glob("*/certificate.md")).read_text()
        assert "NOT CERTIFIED: insufficient evidence" in md and "Missing: Services" in md
        assert "Valid until" not in md


def test_incident_readiness_gates_on_its_own_scope() -> None:
    report = sample_report()  # NET001 (network, critical) fails: outside the incident scope
    ev, _ = _cert(report, "incident-readiness")
    assert not any("NET001" in r for r in ev.reasons)
    assert ev.global_gate and "NET001" in ev.global_gate[0] and "FAILED" in ev.global_gate[0]
    assert {c.key for c in ev.coverage} == {"monitoring", "dr", "incident"}


def test_unreadable_file_is_incomplete_evidence() -> None:
    report = _clean()
    tgt = report.findings[0].model_copy(
        update={
            "check_id": "TGT001",
            "category": "target",
            "status": Status.ERROR,
            "message": "secrets/db.env: permission denied",
            "evidence": [Evidence(path="secrets/db.env")],
        }
    )
    report.findings.append(Finding.model_validate(tgt.model_dump()))
    report.targets[0].stats["skipped_files"] = 2
    na = report.findings[0].model_copy(
        update={
            "check_id": "DEP020",
            "status": Status.NOT_APPLICABLE,
            "message": "shellcheck is not installed",
        }
    )
    report.findings.append(Finding.model_validate(na.model_dump()))
    ev, cert = _cert(report)
    assert any("tool not installed: shellcheck" in n for n in cert.not_looked_at)
    assert ev.status == "NOT CERTIFIED: incomplete evidence"
    assert any("permission denied" in n for n in cert.not_looked_at)
    assert any("skipped files: 2" in n for n in cert.not_looked_at)
    md = render_report(ev.report, "validation-report", "md", NOW, cert, evaluation=ev)
    assert isinstance(md, str) and "Not looked at" in md and "secrets/db.env: permission denied" in md


# --- 3. unreached means unknown ---------------------------------------------------------------------


def test_unreached_host_checks_are_errors_never_failures() -> None:
    report = _clean()
    report.targets.append(
        report.targets[0].model_copy(update={"name": "ghost", "kind": "ssh", "error": "connection refused"})
    )
    bak = next(f for f in report.findings if f.check_id == "BAK001")
    bak.status, bak.message = Status.FAIL, "ghost is not backed up by any script"
    ev, cert = _cert(report)
    assert ev.status == "NOT CERTIFIED: incomplete evidence"
    assert not [f for f in ev.report.findings if f.status == Status.FAIL and "ghost" in f.message]
    assert cert.status == ev.status
    ghost = [f for f in ev.report.findings if f.target == "ghost"]
    assert ghost and all(f.status == Status.ERROR for f in ghost)
    assert ev.unreached == [("ghost", "connection refused")]


def test_cli_unreachable_host_exits_2_naming_host_and_reason(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "c.yaml"
    (tmp_path / "none").write_text("")
    cfg.write_text("hosts:\n  ghost:\n    address: 127.0.0.1\n    port: 1\n    user: nobody\n")
    common = ("--host", "ghost", "--config", str(cfg), "--connect-timeout", "2", "--known-hosts",
              str(tmp_path / "kh"), "--ssh-config", str(tmp_path / "none"))  # fmt: skip
    r = cli("certify", *common, "-o", str(tmp_path / "o"), "--now", FIXED_NOW)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "ghost could not be scanned" in r.stderr and "connection refused" in r.stderr
    out = tmp_path / "r.json"
    r = cli("report", *common, "--format", "json", "-o", str(out), "--now", FIXED_NOW)
    assert r.returncode == 2 and "ghost could not be scanned" in r.stderr
    view = json.loads(out.read_text())
    assert view["issues"] == [] and view["status"] == "NOT CERTIFIED: incomplete evidence"


# --- 4. verification --------------------------------------------------------------------------------


def test_tampered_digest_or_id_fails_verification() -> None:
    ev, cert = _cert(_clean())
    good = Material(cert=cert, results=canonical_json(ev.report), source="mem")
    assert check_material(good) == []
    # edit the results and put their new digest in the certificate: the id no longer matches
    edited = ev.report.model_copy(deep=True)
    edited.findings[0].message = "edited"
    forged = cert.model_copy(update={"digest": results_digest(edited)})
    forged.seal = forged.compute_seal()
    problems = check_material(Material(cert=forged, results=canonical_json(edited), source="mem"))
    assert any("does not match its digest" in p for p in problems)
    # edit the id only
    renamed = cert.model_copy(update={"id": cert.id[:-1] + "0"})
    assert any("id" in p for p in check_material(Material(cert=renamed, results=good.results, source="m")))
    # flip the status without the results: seal and gate disagree
    flipped = cert.model_copy(update={"certified": False, "status": "NOT CERTIFIED"})
    assert len(check_material(Material(cert=flipped, results=good.results, source="m"))) >= 2


def _issue_dir(cli, tmp_path: Path, *extra: str) -> tuple[Path, subprocess.CompletedProcess[str]]:  # type: ignore[no-untyped-def]
    tree = tmp_path / "hi"
    tree.mkdir(exist_ok=True)
    (tree / "deploy.sh").write_text("#!/bin/bash\nset -euo pipefail\necho hi\n")
    r = cli("certify", "--path", str(tree), "-o", str(tmp_path / "certs"), "--now", FIXED_NOW, *extra)
    assert r.returncode == 1, r.stdout + r.stderr
    return next((tmp_path / "certs").glob("CHOM-*")), r


def test_verify_rendered_html_and_md_alone(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d, _ = _issue_dir(cli, tmp_path)
    alone = tmp_path / "auditor"
    alone.mkdir()
    for fmt in ("html", "md"):
        doc = alone / f"cert.{fmt}"
        shutil.copy(d / f"certificate.{fmt}", doc)
        r = cli("verify-certificate", str(doc), "--now", FIXED_NOW)
        assert r.returncode == 1 and "authentic · NOT CERTIFIED: insufficient evidence" in r.stdout, r.stdout
        r = cli("verify-certificate", str(doc), "--now", FIXED_NOW, "--allow-not-certified")
        assert r.returncode == 0, r.stdout + r.stderr
        text = doc.read_text()
        doc.write_text(text.replace("NOT CERTIFIED: insufficient evidence", "CERTIFIED", 1))
        r = cli("verify-certificate", str(doc), "--now", FIXED_NOW, "--allow-not-certified")
        assert r.returncode == 1 and "NOT AUTHENTIC" in r.stdout and "document digest mismatch" in r.stdout
        # a damaged block is not a certificate at all
        lines = text.splitlines()
        i = next(n for n, ln in enumerate(lines) if ln.startswith("-----BEGIN CHOM-VALIDATE")) + 2
        lines[i] = lines[i][::-1]
        doc.write_text("\n".join(lines))
        r = cli("verify-certificate", str(doc), "--allow-not-certified")
        assert r.returncode in (1, 2) and ("damaged" in r.stderr or "NOT AUTHENTIC" in r.stdout)


@needs_pdf
def test_verify_rendered_pdf_alone_unchanged_and_tampered(tmp_path: Path) -> None:
    ev, cert = _cert(sample_report())
    data = render_report(ev.report, "confidence-certificate", "pdf", NOW, cert, evaluation=ev)
    assert isinstance(data, bytes)
    pdf = tmp_path / "cert.pdf"
    pdf.write_bytes(data)
    m = load_material(pdf)
    assert check_material(m) == [] and m.cert.id == cert.id
    # a forged PDF: visible verdict changed, original block attached
    html = render_report(ev.report, "confidence-certificate", "html", NOW, cert, evaluation=ev)
    assert isinstance(html, str)
    forged_html = html.replace(f"Certification status: {cert.status}", "Certification status: CERTIFIED")
    forged_html = forged_html.replace(
        f"Certification status:</strong> {cert.status}", "Certification status:</strong> CERTIFIED"
    )
    forged = pdf_mod.html_to_pdf(
        forged_html, attachments={"chom-validate-certificate.txt": encode_block(cert, ev.report).encode()}
    )
    bad = tmp_path / "forged.pdf"
    bad.write_bytes(forged)
    assert any("visible text" in p for p in check_material(load_material(bad)))
    # a PDF whose block certifies other results
    other = ev.report.model_copy(deep=True)
    other.findings[0].message = "edited"
    swapped = pdf_mod.html_to_pdf(
        html, attachments={"chom-validate-certificate.txt": encode_block(cert, other).encode()}
    )
    bad.write_bytes(swapped)
    assert any("does not match the certified" in p for p in check_material(load_material(bad)))


def test_printed_verify_command_works_as_printed(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d, r = _issue_dir(cli, tmp_path)
    printed = next(ln for ln in r.stdout.splitlines() if ln.startswith("verify: ")).removeprefix("verify: ")
    in_doc = re.search(
        r"```sh\n(chom-validate verify-certificate .*)\n```", (d / "certificate.md").read_text()
    )
    assert in_doc and in_doc.group(1) == printed
    argv = shlex.split(printed)
    assert argv[0] == "chom-validate"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for cwd in (tmp_path, d, Path("/")):
        p = subprocess.run([*argv, "--allow-not-certified", "--now", FIXED_NOW], cwd=cwd, env=env,
                           capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        assert p.returncode == 0, (cwd, p.stdout, p.stderr)
        assert "authentic · NOT CERTIFIED" in p.stdout


def test_ssh_signature(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen not installed")
    key = tmp_path / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "auditor", "-f", str(key)], check=True
    )
    signers = tmp_path / "allowed_signers"
    signers.write_text(f"auditor@chom {key.with_suffix('.pub').read_text()}")
    d, _ = _issue_dir(cli, tmp_path, "--sign-key", str(key))
    html = d / "certificate.html"
    r = cli("verify-certificate", str(html), "--allowed-signers", str(signers), "--allow-not-certified")
    assert r.returncode == 0 and "signed by auditor@chom" in r.stdout and "authentic (signed)" in r.stdout, (
        r.stdout
    )
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    signers.write_text(f"someone@else {other.with_suffix('.pub').read_text()}")
    r = cli("verify-certificate", str(html), "--allowed-signers", str(signers), "--allow-not-certified")
    assert r.returncode == 1 and "NOT AUTHENTIC" in r.stdout


# --- 5. documents that do not contradict themselves ------------------------------------------------


def test_rows_against_their_own_threshold_and_one_risk_row_per_check() -> None:
    report = sample_report()
    mon = next(f for f in report.findings if f.check_id == "MON002" and f.status == Status.FAIL)
    twin = mon.model_copy(
        update={"effective_severity": Severity.MEDIUM, "message": "other", "fingerprint": "x"}
    )
    report.findings.append(twin)
    ev, cert = _cert(report)
    view = build_view(ev.report, "confidence-certificate", NOW, cert, evaluation=ev)
    for row in view.pillars:
        if row.score is not None:
            assert (row.status == "PASS") == (row.score >= (row.threshold or 0)), row
    ids = [r.check_id for r in view.risks]
    assert len(ids) == len(set(ids))


def test_rerendering_from_saved_results_keeps_issue_time(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = tmp_path / "r.json"
    res.write_text(to_json(sample_report()))
    outs = []
    for i in range(2):
        out = tmp_path / f"c{i}.json"
        r = cli(
            "report",
            "--from",
            str(res),
            "--kind",
            "confidence-certificate",
            "--format",
            "json",
            "-o",
            str(out),
        )
        assert r.returncode == 0, r.stderr
        outs.append(json.loads(out.read_text())["certificate"])
    assert outs[0]["issued_at"] == outs[1]["issued_at"] == load_report(res.read_text()).finished_at
    assert outs[0]["id"] == outs[1]["id"]


# --- 7. diff ----------------------------------------------------------------------------------------


def test_diff_results_and_certificates(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    old = sample_report()
    new = sample_report()
    fixed = next(f for f in new.findings if f.check_id == "NET001" and f.status == Status.FAIL)
    fixed.status = Status.PASS
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(to_json(old))
    b.write_text(to_json(new))
    r = cli("diff", str(a), str(b))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "fixed: 1" in r.stdout and "NET001" in r.stdout and "new failure: 0" in r.stdout
    assert re.search(r"score: [\d.]+ -> [\d.]+ \(\+[\d.]+\)", r.stdout)
    assert "coverage:" in r.stdout
    r = cli("diff", str(b), str(a))
    assert r.returncode == 1 and "new failure: 1" in r.stdout
    d, _ = _issue_dir(cli, tmp_path)
    r = cli("diff", str(d / "certificate.json"), str(d / "certificate.html"))
    assert r.returncode == 0 and "new failure: 0" in r.stdout, r.stdout + r.stderr
