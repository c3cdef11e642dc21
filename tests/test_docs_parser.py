"""Parsers of the backup/DR room: Markdown documents, cron schedules, timers, the backup model."""

from __future__ import annotations

import pytest

from chom_validate.artifacts.cron import (
    cron_lines_in_script,
    oncalendar_to_cron,
    parse_cron_text,
    schedule_interval,
    split_cron_line,
)
from chom_validate.artifacts.docs import find_dates, parse_duration, parse_markdown, placeholder

DOC = """# DR plan

Intro with `scripts/a.sh` and a [link](runbooks/x.md#fix)
continued `second` on line 4.

## Recovery Objectives

| Component | Host | RTO | RPO | Extra |
|---|---|---|---|---|
| MySQL | db | 30 min | 1 hour | x |
| Redis | db | 15m | < 4h | |

### Sub

```bash
./restore.sh --all
```

## Next
text
"""


def test_markdown_structure_with_lines() -> None:
    doc = parse_markdown(DOC)
    assert [(h.level, h.text, h.line) for h in doc.headings] == [
        (1, "DR plan", 1),
        (2, "Recovery Objectives", 6),
        (3, "Sub", 13),
        (2, "Next", 19),
    ]
    assert doc.headings[1].end_line == 18  # up to the next level-2 heading
    (t,) = doc.tables
    assert t.line == 8 and t.heading is not None and t.heading.text == "Recovery Objectives"
    assert t.column("rpo") == 3 and t.column("rto") == 2
    assert [(r.cells[0], r.cells[3], r.line) for r in t.rows] == [
        ("MySQL", "1 hour", 10),
        ("Redis", "< 4h", 11),
    ]
    assert [(c.text, c.line) for c in doc.inline_code] == [("scripts/a.sh", 3), ("second", 4)]
    assert [(lk.href, lk.text, lk.line) for lk in doc.links] == [("runbooks/x.md#fix", "link", 3)]
    (cb,) = doc.code_blocks
    assert cb.info == "bash" and cb.line == 16 and cb.text.strip() == "./restore.sh --all"
    assert doc.section_of(16).text == "Sub"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1 hour", 3600),
        ("1h", 3600),
        ("24 hours", 86400),
        ("15 min", 900),
        ("< 4h", 14400),
        ("30 minutes", 1800),
        ("2 days", 172800),
        ("daily", 86400),
        ("TBD", None),
        ("n/a", None),
        ("", None),
    ],
)
def test_durations(text: str, seconds: int | None) -> None:
    assert parse_duration(text) == seconds


def test_dates_and_placeholders() -> None:
    assert [str(d) for d in find_dates("Last tested: 2026-10-06, before 2026-02-30")] == ["2026-10-06"]
    for bad in ("TBD", "ops@example.com", "+1 555-0100", "<name>", "XXX"):
        assert placeholder(f"| L2 | {bad} |"), bad
    assert placeholder("| L2 | camille@arewel.com, +33 6 71 20 44 83 |") is None


@pytest.mark.parametrize(
    ("schedule", "interval"),
    [
        ("0 2 * * *", 86400),
        ("@daily", 86400),
        ("@hourly", 3600),
        ("*/15 * * * *", 900),
        ("0 */6 * * *", 21600),
        ("0 3 * * sun", 604800),
        ("30 4 * * 1-5", 3 * 86400),  # Friday -> Monday
        ("0 2 1,15 * *", 17 * 86400),  # the 15th to the 1st of a 31-day month... worst case
        ("@reboot", None),
        ("61 * * * *", None),
    ],
)
def test_cron_intervals(schedule: str, interval: int | None) -> None:
    assert schedule_interval(schedule) == interval


def test_cron_file_formats() -> None:
    cf = parse_cron_text(
        "MAILTO=ops@x.io\n# c\n0 2 * * * root /opt/b.sh\n@daily backup /opt/c.sh\n", system=True
    )
    assert cf.env == {"MAILTO": "ops@x.io"}
    assert [(e.schedule, e.user, e.command, e.line) for e in cf.entries] == [
        ("0 2 * * *", "root", "/opt/b.sh", 3),
        ("@daily", "backup", "/opt/c.sh", 4),
    ]
    user_tab = parse_cron_text("0 2 * * * /opt/b.sh >> /var/log/b.log 2>&1\n", system=False)
    assert user_tab.entries[0].user is None and user_tab.entries[0].command.startswith("/opt/b.sh")
    assert split_cron_line("0 2 * * * root /opt/b.sh", None).user == "root"  # type: ignore[union-attr]
    assert split_cron_line("0 2 * * * /opt/b.sh", None).user is None  # type: ignore[union-attr]
    assert parse_cron_text("not a cron line\n", system=None).errors


def test_cron_lines_installed_by_scripts() -> None:
    lines = [
        "#!/bin/sh",
        'echo "0 2 * * * root /usr/local/bin/chom-backup" > /etc/cron.d/chom-backup',
        "(crontab -l; echo '*/30 * * * * /opt/sync.sh') | crontab -",
        'echo "hello"',
    ]
    got = [(e.schedule, e.user, e.command, e.line) for e in cron_lines_in_script(lines)]
    assert got == [
        ("0 2 * * *", "root", "/usr/local/bin/chom-backup", 2),
        ("*/30 * * * *", None, "/opt/sync.sh", 3),
    ]


@pytest.mark.parametrize(
    ("spec", "cron", "interval"),
    [
        ("daily", "0 0 * * *", 86400),
        ("*-*-* 02:00:00", "0 2 * * *", 86400),
        ("Mon *-*-* 03:00", "0 3 * * 1", 604800),
        ("*:0/15", "0/15 * * * *", 900),
        ("Mon..Fri 04:30", "30 4 * * 1-5", 3 * 86400),
    ],
)
def test_oncalendar(spec: str, cron: str, interval: int) -> None:
    assert oncalendar_to_cron(spec) == cron
    assert schedule_interval(cron) == interval
