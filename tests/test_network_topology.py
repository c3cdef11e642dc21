"""SYS/NET/TOP checks: bad fixtures fail at the right line, good ones pass, and the must-show cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from chom_validate.findings import Status
from chom_validate.results import RunReport

from .conftest import ROOT, findings, scan_tree

FX = ROOT / "tests" / "fixtures"
NET = [f"NET{i:03d}" for i in range(1, 11)]
SYS = [f"SYS{i:03d}" for i in range(1, 10)]


@pytest.fixture(scope="module")
def net_bad() -> RunReport:
    return scan_tree(FX / "network" / "bad", FX / "network" / "bad" / "chom-validate.yaml", only=NET)


@pytest.fixture(scope="module")
def net_good() -> RunReport:
    return scan_tree(FX / "network" / "good", FX / "network" / "good" / "chom-validate.yaml", only=NET)


@pytest.mark.parametrize(
    ("check", "path", "line"),
    [
        ("NET001", "host/firewall.sh", 4),
        ("NET002", "host/firewall.sh", 5),
        ("NET003", "host/firewall.sh", 6),
        ("NET004", "host/firewall.sh", 7),
        ("NET005", "host/firewall.sh", None),
        ("NET006", "host/firewall.sh", 3),
        ("NET007", "host/site.conf", 3),
        ("NET008", "host/expired.crt", 1),
        ("NET009", "host/site.conf", 4),
        ("NET010", "host/site.conf", 5),
    ],
)
def test_network_bad_fails(net_bad: RunReport, check: str, path: str, line: int | None) -> None:
    locs = [(e.path, e.line) for f in findings(net_bad, check, "fail") for e in f.evidence]
    assert (path, line) in locs, f"{check}: {locs}"


@pytest.mark.parametrize("check", NET)
def test_network_good_passes(net_good: RunReport, check: str) -> None:
    fs = findings(net_good, check)
    assert fs and all(f.status == Status.PASS for f in fs), [(f.status, f.message) for f in fs]


def test_systemd_good_and_bad() -> None:
    good = scan_tree(FX / "systemd" / "good", only=SYS)
    for f in good.findings:
        assert f.status == Status.PASS, (f.check_id, f.message)
    bad = scan_tree(FX / "systemd" / "bad", only=SYS)
    failed = {f.check_id: f for f in bad.findings if f.status == Status.FAIL}
    assert set(failed) >= {"SYS002", "SYS003", "SYS004", "SYS005", "SYS006", "SYS007", "SYS008", "SYS009"}
    # User=root comes from the drop-in: evidence points there
    assert failed["SYS003"].evidence[0].path == "x.service.d/override.conf"
    assert all("hunter2" not in f.message and "abcd1234" not in str(f.evidence) for f in bad.findings)


def _both_sides(report: RunReport, check: str, port: int) -> list[str]:
    for f in findings(report, check, "fail"):
        if f.subject and f.subject.endswith(f":{port}"):
            return [e.path or "" for e in f.evidence]
    return []


def test_must_show_blocked_scrape_and_world_open_exporter(example_report: RunReport) -> None:
    assert _both_sides(example_report, "TOP001", 9121) == [
        "mentat/prometheus/prometheus.yml",
        "landsraad/firewall/setup-firewall.sh",
    ]
    assert _both_sides(example_report, "TOP003", 8080) == [
        "mentat/prometheus/prometheus.yml",
        "landsraad/firewall/setup-firewall.sh",
    ]
    note = findings(example_report, "TOP001", "fail")[0].evidence[1].note or ""
    assert "no rule allows 51.254.139.78 -> 9121/tcp" in note


def test_example_scrape_targets_have_listeners(example_report: RunReport) -> None:
    assert not findings(example_report, "TOP002", "fail")
    assert len(findings(example_report, "TOP002", "pass")) == 11


def test_example_heredoc_units_are_checked(example_report: RunReport) -> None:
    subjects = {f.subject for f in findings(example_report, "SYS009")}
    assert "textfile-apt.service" in subjects


def test_fixture_paths_exist() -> None:
    assert Path(FX / "network" / "bad" / "host" / "expired.crt").is_file()
