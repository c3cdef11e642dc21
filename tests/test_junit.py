"""JUnit XML: valid against the Jenkins/Surefire junit-10.xsd, one testcase per check x target."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from chom_validate.config import Config, Waiver
from chom_validate.outputs import junit
from chom_validate.results import RunReport

from .ci_support import DATA, DEMO_TREE, demo_scan

xmlschema = pytest.importorskip("xmlschema", reason="xmlschema not installed (pip install -e '.[test]')")


def validate(text: str) -> ET.Element:
    schema = xmlschema.XMLSchema(str(DATA / "junit-10.xsd"))
    errors = list(schema.iter_errors(text))
    assert not errors, "\n".join(str(e)[:400] for e in errors[:5])
    return ET.fromstring(text)


def cases(root: ET.Element) -> dict[tuple[str, str], ET.Element]:
    out = {}
    for case in root.iter("testcase"):
        key = (case.get("classname", ""), case.get("name", ""))
        assert key not in out, f"duplicate testcase {key}"
        out[key] = case
    return out


def test_xsd_is_the_real_junit_schema() -> None:
    schema = xmlschema.XMLSchema(str(DATA / "junit-10.xsd"))
    assert {"testsuites", "testsuite", "testcase", "failure", "error", "skipped"} <= set(schema.elements)
    assert not schema.is_valid("<testsuites><testsuite name='x'/></testsuites>")  # tests= is required


def test_example_deployment_junit_validates(example_report: RunReport) -> None:
    root = validate(junit.render(example_report))
    all_cases = cases(root)
    runs = sum(len(t.check_runs) for t in example_report.targets)
    assert len(all_cases) == runs == int(root.get("tests", "0"))
    fails = {(f.target, f.check_id) for f in example_report.failures()}
    failed_cases = [c for c in all_cases.values() if c.find("failure") is not None]
    assert len(failed_cases) == len(fails) == int(root.get("failures", "0"))


def test_one_testcase_per_check_and_target_with_the_right_outcome() -> None:
    root = validate(junit.render(demo_scan(DEMO_TREE)))
    by_id = {name.split()[0]: c for (_cls, name), c in cases(root).items()}
    assert set(by_id) == {"CIX001", "CIX002", "CIX003", "CIX004", "CIX005"}
    failure = by_id["CIX001"].find("failure")
    assert failure is not None and failure.get("type") == "high"
    body = failure.text or ""
    # every failing result is in the body with its evidence (file:line and excerpt)
    assert "deploy/deploy.sh:5" in body and "deploy/deploy.sh:7" in body and "deploy/other.sh:3" in body
    assert "chmod 777 /srv/app" in body
    assert by_id["CIX002"].find("error") is not None
    skipped = by_id["CIX003"].find("skipped")
    assert skipped is not None and "no DR plan" in (skipped.get("message") or "")
    assert by_id["CIX001"].get("classname", "").endswith(".deploy")
    assert "/" not in by_id["CIX001"].get("classname", ""), "classnames are split on dots by CI tools"
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "5",
        "3",
        "1",
        "1",
    )


def test_control_characters_are_made_safe() -> None:
    text = junit.render(demo_scan(DEMO_TREE))
    assert "\x01" not in text
    validate(text)


def test_waived_failure_passes_and_says_why() -> None:
    cfg = Config(
        waivers=[
            Waiver(
                check="CIX001",
                path="deploy/*",
                reason="legacy script, TICKET-7",
                owner="ops",
                expires="2027-01-01",
            )
        ]  # type: ignore[arg-type]
    )
    root = validate(junit.render(demo_scan(DEMO_TREE, cfg)))
    case = next(c for (_cls, name), c in cases(root).items() if name.startswith("CIX001"))
    assert case.find("failure") is None
    out = case.find("system-out")
    assert out is not None and "waiver" in (out.text or "") and "TICKET-7" in (out.text or "")


def test_two_targets_get_distinct_classnames() -> None:
    a = demo_scan(DEMO_TREE, name="site.a")
    b = demo_scan(DEMO_TREE, name="site_a")
    merged = a.model_copy(update={"targets": a.targets + b.targets, "findings": a.findings + b.findings})
    root = validate(junit.render(merged))
    assert len(cases(root)) == 10
