"""SARIF 2.1.0: schema-valid, rules from check docs, stable fingerprints, severity mapping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from chom_validate.config import Config, Waiver
from chom_validate.outputs import sarif
from chom_validate.registry import load_registry
from chom_validate.results import RunReport

from .ci_support import DEMO_TREE, copy_tree, demo_scan, insert_blank_lines, sarif_schema
from .conftest import EXAMPLE, ROOT, scan_tree


def validate(doc: dict[str, Any]) -> None:
    schema = sarif_schema()
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors[:10])


def run_of(report: RunReport) -> dict[str, Any]:
    doc = json.loads(sarif.render(report))
    validate(doc)
    return doc["runs"][0]  # type: ignore[no-any-return]


def fingerprints(run: dict[str, Any]) -> dict[str, tuple[str, int]]:
    out = {}
    for r in run["results"]:
        loc = r["locations"][0]["physicalLocation"]
        out[r["partialFingerprints"][sarif.FINGERPRINT_KEY]] = (
            r["ruleId"] + " " + loc["artifactLocation"]["uri"],
            loc.get("region", {}).get("startLine", 0),
        )
    return out


def test_shipped_schema_is_the_oasis_sarif_2_1_0_schema() -> None:
    schema = sarif_schema()
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]
    assert {"result", "reportingDescriptor", "physicalLocation", "suppression"} <= set(schema["definitions"])
    # the validator really rejects a broken log
    with pytest.raises(AssertionError):
        validate({"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]})


def test_example_deployment_sarif_validates(example_report: RunReport) -> None:
    run = run_of(example_report)
    assert run["tool"]["driver"]["name"] == "chom-validate"
    assert len(run["tool"]["driver"]["rules"]) == len(example_report.checks)
    fails = example_report.failures(include_suppressed=True)
    assert len(run["results"]) == len(fails)
    for r in run["results"]:
        uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        # relative --path: URIs are repository-relative so code scanning finds the files
        assert not uri.startswith("/")
    fps = [r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in run["results"]]
    assert len(fps) == len(set(fps)), "two results share a fingerprint"


def test_rules_carry_the_check_docs(tmp_path: Path) -> None:
    report = demo_scan(DEMO_TREE)
    run = run_of(report)
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert set(rules) == {"CIX001", "CIX002", "CIX003", "CIX004", "CIX005"}
    r = rules["CIX001"]
    assert r["shortDescription"]["text"] == "No INSECURE markers in scripts."
    assert r["fullDescription"]["text"] == "Flags every line containing the word INSECURE."
    for section in ("What it does", "Why it matters", "Example", "Fix", "References"):
        assert section in r["help"]["text"]
        assert f"**{section}**" in r["help"]["markdown"]
    assert r["defaultConfiguration"]["level"] == "error"
    assert r["properties"]["security-severity"] == "8.0"
    assert "security" in r["properties"]["tags"]
    # every ruleIndex points at its rule
    for res in run["results"]:
        assert run["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == res["ruleId"]


def test_builtin_rules_have_help_from_docstrings(example_report: RunReport) -> None:
    run = run_of(example_report)
    reg = load_registry()
    for rule in run["tool"]["driver"]["rules"]:
        spec = reg.checks[rule["id"]]
        assert rule["shortDescription"]["text"] == spec.title
        if spec.doc.get("What it does"):
            assert rule["fullDescription"]["text"] == spec.doc["What it does"]
            assert spec.doc["Fix"] in rule["help"]["text"]


def test_results_levels_locations_and_what_is_not_a_result() -> None:
    report = demo_scan(DEMO_TREE)
    run = run_of(report)
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for r in run["results"]:
        by_rule.setdefault(r["ruleId"], []).append(r)
    # passes, not-applicable and errors are not results
    assert set(by_rule) == {"CIX001", "CIX004", "CIX005"}
    assert len(by_rule["CIX001"]) == 3
    first = by_rule["CIX001"][0]
    assert first["level"] == "error"
    assert first["properties"]["security-severity"] == "8.0"
    phys = first["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"]["uri"].endswith("deploy/deploy.sh")
    assert phys["region"]["startLine"] == 5
    assert "INSECURE" in phys["region"]["snippet"]["text"]
    crit = by_rule["CIX004"][0]
    assert crit["level"] == "error" and crit["properties"]["security-severity"] == "9.5"
    low = by_rule["CIX005"][0]
    assert low["level"] == "note" and low["properties"]["security-severity"] == "3.0"
    assert low["locations"], "code scanning needs a location even for target-wide findings"
    # the check that could not look is a tool notification, not a silent pass
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert any(n["level"] == "error" and n.get("associatedRule", {}).get("id") == "CIX002" for n in notes)


def test_absolute_path_uses_uri_base_id() -> None:
    report = demo_scan(DEMO_TREE.resolve())
    run = run_of(report)
    loc = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert loc["uriBaseId"] == "SRCROOT" and not loc["uri"].startswith("/")
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"].startswith("file:///")


def test_fingerprints_survive_inserted_blank_lines(tmp_path: Path) -> None:
    repo = copy_tree(tmp_path)
    before = fingerprints(run_of(demo_scan(repo)))
    insert_blank_lines(repo / "deploy" / "deploy.sh", 2, count=4)
    insert_blank_lines(repo / "docs" / "plan.md", 1, count=2)
    after = fingerprints(run_of(demo_scan(repo)))
    assert set(before) == set(after)
    moved = [fp for fp in before if before[fp][1] != after[fp][1]]
    assert moved, "the lines did move"
    for fp in moved:
        assert before[fp][0] == after[fp][0]
    # the two identical lines in deploy.sh kept two distinct fingerprints
    assert sum(1 for v in after.values() if v[0].startswith("CIX001") and v[0].endswith("deploy.sh")) == 2


def test_identical_lines_never_collapse() -> None:
    run = run_of(demo_scan(DEMO_TREE))
    deploy = [
        r for r in run["results"] if r["ruleId"] == "CIX001" and "deploy.sh" in json.dumps(r["locations"])
    ]
    assert len(deploy) == 2
    assert (
        deploy[0]["locations"][0]["physicalLocation"]["region"]["snippet"]
        == deploy[1]["locations"][0]["physicalLocation"]["region"]["snippet"]
    )
    assert (
        deploy[0]["partialFingerprints"][sarif.FINGERPRINT_KEY]
        != deploy[1]["partialFingerprints"][sarif.FINGERPRINT_KEY]
    )


def test_fingerprints_do_not_depend_on_the_checkout_folder(tmp_path: Path) -> None:
    a = fingerprints(run_of(demo_scan(copy_tree(tmp_path, "one"))))
    b = fingerprints(run_of(demo_scan(copy_tree(tmp_path, "two"))))
    assert set(a) == set(b)


def test_builtin_check_fingerprint_survives_line_shift(tmp_path: Path) -> None:
    """Same property on a real built-in check (SYS001 restart policy) and a real unit file."""
    if "SYS001" not in load_registry().checks:
        pytest.skip("SYS001 not registered")
    repo = tmp_path / "units"
    (repo / "systemd").mkdir(parents=True)
    unit = repo / "systemd" / "worker.service"
    unit.write_text(
        "[Unit]\nDescription=Queue worker\n\n[Service]\nUser=app\nExecStart=/usr/bin/php artisan queue:work\n"
        "Restart=no\n\n[Install]\nWantedBy=multi-user.target\n"
    )
    first = run_of(scan_tree(repo, only=["SYS001"]))
    insert_blank_lines(unit, 2, count=5)
    second = run_of(scan_tree(repo, only=["SYS001"]))
    assert first["results"], "SYS001 should flag Restart=no"
    assert fingerprints(first).keys() == fingerprints(second).keys()
    assert [v[1] for v in fingerprints(second).values()] == [v[1] + 5 for v in fingerprints(first).values()]


def test_suppressed_results_are_reported_with_suppressions() -> None:
    cfg = Config(
        waivers=[
            Waiver(check="CIX005", reason="alert lands in TICKET-42", owner="ops", expires="2027-01-31")  # type: ignore[arg-type]
        ]
    )
    run = run_of(demo_scan(DEMO_TREE, cfg))
    waived = [r for r in run["results"] if r["ruleId"] == "CIX005"]
    assert waived and waived[0]["suppressions"][0]["kind"] == "external"
    assert "TICKET-42" in waived[0]["suppressions"][0]["justification"]
    assert all("suppressions" not in r for r in run["results"] if r["ruleId"] != "CIX005")


def test_cli_writes_sarif_alongside_terminal(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out" / "chom.sarif"
    junit = tmp_path / "out" / "junit.xml"
    proc = cli(
        "all",
        "--path",
        str(EXAMPLE),
        "--config",
        str(EXAMPLE / "chom-validate.yaml"),
        "--now",
        "2026-11-29",
        "--output-sarif",
        str(out),
        "--output-junit",
        str(junit),
        cwd=ROOT,
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "Overall score" in proc.stdout
    validate(json.loads(out.read_text()))
    assert junit.read_text().startswith("<?xml")
