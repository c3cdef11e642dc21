"""GitLab code quality JSON: the fields GitLab reads, severities, stable unique fingerprints."""

from __future__ import annotations

import json
from pathlib import Path

from chom_validate.config import Config, Waiver
from chom_validate.outputs import gitlab
from chom_validate.results import RunReport

from .ci_support import DEMO_TREE, copy_tree, demo_scan, insert_blank_lines

ALLOWED = {"info", "minor", "major", "critical", "blocker"}


def issues(report: RunReport) -> list[dict]:  # type: ignore[type-arg]
    data = json.loads(gitlab.render(report))
    assert isinstance(data, list)
    for i in data:
        assert isinstance(i["description"], str) and i["description"]
        assert isinstance(i["check_name"], str) and i["check_name"]
        assert isinstance(i["fingerprint"], str) and len(i["fingerprint"]) >= 16
        assert i["severity"] in ALLOWED
        assert isinstance(i["location"]["path"], str) and not i["location"]["path"].startswith("/")
        assert isinstance(i["location"]["lines"]["begin"], int) and i["location"]["lines"]["begin"] >= 1
    fps = [i["fingerprint"] for i in data]
    assert len(fps) == len(set(fps)), "GitLab would merge issues sharing a fingerprint"
    return data  # type: ignore[no-any-return]


def test_example_deployment_gitlab(example_report: RunReport) -> None:
    data = issues(example_report)
    assert len(data) == len(example_report.failures())


def test_fields_and_severity_mapping() -> None:
    data = issues(demo_scan(DEMO_TREE))
    by_check: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for i in data:
        by_check.setdefault(i["check_name"].split()[0], []).append(i)
    assert set(by_check) == {"CIX001", "CIX004", "CIX005"}
    first = by_check["CIX001"][0]
    assert first["severity"] == "critical"  # high
    assert first["location"]["path"].endswith("deploy/deploy.sh")
    assert first["location"]["lines"]["begin"] == 5
    assert by_check["CIX004"][0]["severity"] == "blocker"  # critical
    assert by_check["CIX005"][0]["severity"] == "minor"  # low


def test_relative_target_paths_are_repository_relative() -> None:
    report = demo_scan(DEMO_TREE, name="deploy-repo/sub")
    paths = {i["location"]["path"] for i in issues(report)}
    assert "deploy-repo/sub/deploy/other.sh" in paths


def test_suppressed_findings_are_left_out() -> None:
    cfg = Config(
        waivers=[
            Waiver(check="CIX004", reason="plan rewrite in progress", owner="dr-team", expires="2027-06-30")
        ]  # type: ignore[arg-type]
    )
    data = issues(demo_scan(DEMO_TREE, cfg))
    assert not [i for i in data if i["check_name"].startswith("CIX004")]


def test_fingerprints_stable_when_lines_move(tmp_path: Path) -> None:
    repo = copy_tree(tmp_path)
    before = {i["fingerprint"] for i in issues(demo_scan(repo))}
    insert_blank_lines(repo / "deploy" / "other.sh", 1, count=7)
    after = issues(demo_scan(repo))
    assert before == {i["fingerprint"] for i in after}
    assert any(i["location"]["lines"]["begin"] == 10 for i in after)
