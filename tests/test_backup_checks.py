"""BAK checks: a bad fixture fails at the right file:line, a carefully written good one passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from chom_validate.findings import Status
from chom_validate.results import RunReport

from .conftest import EXAMPLE, findings, scan_tree

FIX = Path(__file__).parent / "fixtures" / "backup"
BAK_IDS = [f"BAK00{i}" for i in range(1, 10)]


@pytest.fixture(scope="module")
def good() -> RunReport:
    return scan_tree(FIX / "good", FIX / "good" / "chom-validate.yaml", only=BAK_IDS)


@pytest.fixture(scope="module")
def bad() -> RunReport:
    return scan_tree(FIX / "bad", FIX / "bad" / "chom-validate.yaml", only=BAK_IDS)


# check, path, line (None = any) the bad fixture must fail at
BAD_CASES = [
    ("BAK001", "backup/backup-files.sh", None),  # tar backup nobody schedules (the file, no line)
    ("BAK002", "chom-validate.yaml", None),  # cache role: Redis not backed up
    ("BAK003", "backup/backup.sh", 6),  # -mtime +30 ...
    ("BAK003", "docs/BACKUPS.md", 3),  # ... vs "kept for 7 days"
    ("BAK004", "backup/backup.sh", 5),  # gzip -t ... || true
    ("BAK005", "backup/backup.sh", 4),  # no off-site copy after the dump
    ("BAK006", "backup/backup.sh", 4),  # the dump written in clear
    ("BAK007", "backup/backup-files.sh", None),  # no restore test anywhere
    ("BAK008", "backup/backup-files.sh", 3),  # no metric after the tar, no alert
    ("BAK009", "backup/backup.sh", 4),  # mysqldump -pS3cretPass in the script
    ("BAK009", "cron/backup", 3),  # ... and in a cron line
]


@pytest.mark.parametrize(("check_id", "path", "line"), BAD_CASES)
def test_bad_fixture_fails_with_evidence(bad: RunReport, check_id: str, path: str, line: int | None) -> None:
    fails = findings(bad, check_id, Status.FAIL)
    locs = [(e.path, e.line) for f in fails for e in f.evidence]
    assert any(p == path and (line is None or ln == line) for p, ln in locs), locs


@pytest.mark.parametrize("check_id", BAK_IDS)
def test_good_fixture_passes(good: RunReport, check_id: str) -> None:
    got = findings(good, check_id)
    assert got, f"{check_id} yielded nothing"
    assert all(f.status == Status.PASS for f in got), [(f.status, f.message) for f in got]
    assert all(f.evidence for f in got)


def test_credentials_are_redacted_in_evidence(bad: RunReport) -> None:
    for f in findings(bad, "BAK009", Status.FAIL):
        for e in f.evidence:
            assert "S3cretPass" not in (e.excerpt or "") + f.message


def test_no_backup_scripts_is_not_applicable(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# nothing here\n")
    report = scan_tree(tmp_path, only=BAK_IDS)
    assert {f.status for f in report.findings} == {Status.NOT_APPLICABLE}


def test_example_retention_and_freshness(example_report: RunReport) -> None:
    (ret,) = findings(example_report, "BAK003", Status.FAIL)
    assert {(e.path, e.line) for e in ret.evidence} == {
        ("landsraad/backup/backup-chom.sh", 66),
        ("docs/DISASTER_RECOVERY.md", 26),
    }
    grafana = [f for f in findings(example_report, "BAK002", Status.FAIL) if f.subject == "grafana"]
    assert grafana and grafana[0].evidence[0].path == "docs/DISASTER_RECOVERY.md"
    sched = findings(example_report, "BAK001", Status.PASS)
    assert sched and sched[0].evidence[0].path == "landsraad/cron/chom-backup"
    assert EXAMPLE.is_dir()


def test_schedule_installed_by_a_script(tmp_path: Path) -> None:
    (tmp_path / "backup-db.sh").write_text("#!/bin/sh\nset -e\nmysqldump --all-databases > /b/db.sql\n")
    (tmp_path / "install.sh").write_text(
        "#!/bin/sh\nset -e\ninstall -m 0750 backup-db.sh /usr/local/sbin/db-backup\n"
        'echo "15 */4 * * * root /usr/local/sbin/db-backup" > /etc/cron.d/db-backup\n'
    )
    report = scan_tree(tmp_path, only=["BAK001"])
    (res,) = findings(report, "BAK001")
    assert res.status == Status.PASS and (res.evidence[0].path, res.evidence[0].line) == ("install.sh", 4)
    assert "every 4h" in res.message


def test_live_crontab_becomes_a_schedule() -> None:
    from types import SimpleNamespace

    from chom_validate.facts.backups import _live_crontab
    from chom_validate.targets.base import CommandResult

    out = "# m h dom mon dow command\n0 */6 * * * /usr/local/bin/chom-backup\n"
    caps = frozenset({"files", "commands"})  # a host, live or replayed from a snapshot
    ctx = SimpleNamespace(capabilities=caps, name="landsraad", command=lambda argv: CommandResult(argv, 0, out))
    (s,) = _live_crontab(ctx)  # type: ignore[arg-type]
    assert (s.interval, s.line, s.artifact.host) == (21600, 2, "landsraad")
    assert s.artifact.evidence(s.line).excerpt == "0 */6 * * * /usr/local/bin/chom-backup"
    assert _live_crontab(SimpleNamespace(capabilities=frozenset({"files"}))) == []  # type: ignore[arg-type]
