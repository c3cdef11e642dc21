"""Backup round trip (SYS027, BAK021-BAK029, DR020): bad variants shaped like real defects fail at the
line the fix belongs to; carefully written variants pass."""

from __future__ import annotations

from pathlib import Path

from chom_validate.findings import Status
from chom_validate.results import RunReport

from .conftest import findings, scan_tree
from .conftest import write_tree as _tree

IDS = [f"BAK0{i}" for i in range(21, 31)] + ["DR020", "SYS027"]


def _scan(root: Path) -> RunReport:
    return scan_tree(root, only=IDS, profile="hardened")


def _fail_lines(r: RunReport, check_id: str) -> list[tuple[str, int | None]]:
    return [(e.path, e.line) for f in findings(r, check_id, Status.FAIL) for e in f.evidence]


# -- repository tools: template units, colliding timers, shallow checks, "${ARR[@]}" ----------------

BACKUP_SVC = """[Unit]
Description=Backup with restic

[Service]
Type=oneshot
ExecStart=/usr/local/bin/restic_backup.sh
"""
TIMER = """[Unit]
Description=timer

[Timer]
OnCalendar={cal}
Persistent=true
"""


def _restic_tree(root: Path, good: bool) -> Path:
    arr = "EXTRA=()" if good else "EXTRA="
    check = "restic check --read-data-subset=5%" if good else "restic check"
    conflicts = "restic-backup@%i.service" if good else "restic-backup.service"
    return _tree(
        root,
        {
            "units/restic-backup@.service": BACKUP_SVC,
            "units/restic-backup@.timer": TIMER.format(cal="daily"),
            "units/restic-check@.service": BACKUP_SVC.replace("Backup with", "Check")
            .replace("restic_backup.sh", "restic_check.sh")
            .replace("[Unit]\n", f"[Unit]\nConflicts={conflicts}\n"),
            "units/restic-check@.timer": TIMER.format(cal="*-*-01 04:00:00" if good else "monthly"),
            "bin/restic_backup.sh": "#!/bin/bash\nset -o errexit -o pipefail\n"
            f"{arr}\n"
            '[ -z "${CONN+x}" ] || EXTRA=(--option b2.connections="$CONN")\n'
            'restic backup "${EXTRA[@]}" /home\n'
            'restic forget "${EXTRA[@]}" --prune --keep-daily 7\n',
            "bin/restic_check.sh": f"#!/bin/bash\nset -e\n{check}\n",
            "README.md": "# Backups\n\n## Restore\n\n```console\n# restic restore latest --target /\n```\n",
        },
    )


def test_restic_bad(tmp_path: Path) -> None:
    r = _scan(_restic_tree(tmp_path, good=False))
    assert ("units/restic-check@.service", 2) in _fail_lines(r, "SYS027")
    lines = _fail_lines(r, "BAK021")
    assert ("units/restic-backup@.timer", 5) in lines and ("units/restic-check@.timer", 5) in lines
    assert ("units/restic-check@.service", 2) in lines  # the Conflicts= that does not serialise
    assert ("bin/restic_check.sh", 3) in _fail_lines(r, "BAK022")
    bak027 = findings(r, "BAK027", Status.FAIL)
    assert [f.effective_severity.value for f in bak027] == ["critical"]
    assert ("bin/restic_backup.sh", 3) in _fail_lines(r, "BAK027")


def test_restic_good(tmp_path: Path) -> None:
    r = _scan(_restic_tree(tmp_path, good=True))
    for cid in ("SYS027", "BAK021", "BAK022", "BAK027", "DR020"):
        got = findings(r, cid)
        assert got and all(f.status == Status.PASS for f in got), (cid, [(f.status, f.message) for f in got])


# -- a backup/restore script: no error handling, ';' chains, retention, restore that wipes ----------

BAD_SCRIPT = """#!/bin/bash
BACKUP=/srv/backup
backup() {
  mkdir -p "$BACKUP/app-$DATE"
  docker run --rm -v "$BACKUP/app-$DATE":/backup debian \\
    /bin/tar -cpf /backup/files.tar /data
  docker run --rm db /bin/sh -c "mariabackup --backup --target-dir=/b ; \\
    tar -cf /backup/db.tar /b"
  docker exec redis redis-cli save
  find "$BACKUP"/app-* -maxdepth 0 -mmin +4320 -exec rm -rf {} \\;
}
restore() {
  docker run --rm -v dbvol:/var/lib/mysql db /bin/sh -c "rm -rf /var/lib/mysql/* ; tar -xf /backup/db.tar"
}
"$@"
"""
GOOD_SCRIPT = """#!/bin/bash
set -euo pipefail
BACKUP=/srv/backup
backup() {
  mkdir -p "$BACKUP/app-$DATE"
  docker run --rm -v "$BACKUP/app-$DATE":/backup debian /bin/tar -cpf /backup/files.tar /data
  docker run --rm db /bin/sh -c "mariabackup --backup --target-dir=/b && tar -cf /backup/db.tar /b"
  docker exec redis redis-cli bgsave
  find "$BACKUP"/app-* -maxdepth 0 -mmin +4320 -exec rm -rf {} \\;
}
restore() {
  tar -tf /backup/db.tar > /dev/null
  docker run --rm -v dbvol:/var/lib/mysql db /bin/sh -c "rm -rf /var/lib/mysql/* && tar -xf /backup/db.tar"
}
"$@"
"""


def test_backup_script_bad(tmp_path: Path) -> None:
    r = _scan(_tree(tmp_path, {"helper/backup_and_restore.sh": BAD_SCRIPT}))
    assert ("helper/backup_and_restore.sh", 5) in _fail_lines(r, "BAK023")
    assert ("helper/backup_and_restore.sh", 7) in _fail_lines(r, "BAK024")
    assert ("helper/backup_and_restore.sh", 10) in _fail_lines(r, "BAK025")
    assert ("helper/backup_and_restore.sh", 13) in _fail_lines(r, "BAK026")
    assert ("helper/backup_and_restore.sh", 9) in _fail_lines(r, "BAK028")
    assert findings(r, "DR020", Status.PASS)  # the script restores


def test_backup_script_good(tmp_path: Path) -> None:
    r = _scan(_tree(tmp_path, {"helper/backup_and_restore.sh": GOOD_SCRIPT}))
    for cid in ("BAK023", "BAK024", "BAK025"):
        got = findings(r, cid)
        assert got and all(f.status == Status.PASS for f in got), (cid, [f.message for f in got])
    for cid in ("BAK026", "BAK028"):
        assert not findings(r, cid, Status.FAIL), cid


# -- documents: restore procedure and documented cron lines ------------------------------------------


def test_no_restore_procedure_points_at_the_key(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "bin/restic_backup.sh": "#!/bin/bash\nset -e\nrestic backup /home\n",
            "etc/restic/default.env.sh": "export RESTIC_REPOSITORY=b2:x\n",
            "README.md": "# Setup\n\nGenerate the password:\n\n```console\n"
            "$ openssl rand -base64 128 > /etc/restic/pw.txt\n```\n\n"
            "Cron:\n\n```\n@midnight root . /etc/restic/default.sh && restic_backup.sh\n```\n",
        },
    )
    r = _scan(root)
    assert ("README.md", 6) in _fail_lines(r, "DR020")
    assert ("README.md", 12) in _fail_lines(r, "BAK029")
    (tmp_path / "README.md").write_text(
        "# Setup\n\n```\n@midnight root . /etc/restic/default.env.sh && restic_backup.sh\n```\n"
        "## Restore\n\n```\nrestic restore latest --target /\n```\n"
    )
    r = _scan(root)
    assert findings(r, "DR020", Status.PASS) and findings(r, "BAK029", Status.PASS)


def test_wrapper_exit_status(tmp_path: Path) -> None:
    bad = '#!/bin/sh\n[ $# -eq 0 ] && exit 1\ncmd="$*"\nbody=$(eval "$cmd" 2>&1)\necho "$body" | mail -s "$cmd" root\n'
    r = _scan(_tree(tmp_path / "bad", {"bin/cron_mail": bad}))
    assert ("bin/cron_mail", 4) in _fail_lines(r, "BAK030")
    good = bad.replace("2>&1)\n", "2>&1)\nrc=$?\n") + 'exit "$rc"\n'
    r = _scan(_tree(tmp_path / "good", {"bin/cron_mail": good}))
    assert not findings(r, "BAK030", Status.FAIL)
