"""SYS010 (journald storage, size caps, retention) and NET011 (DNS preflight before certbot)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chom_validate.artifacts.journald import merge_journald, parse_journald_text, parse_timespan
from chom_validate.config import Config
from chom_validate.findings import Status
from chom_validate.results import RunReport

from .conftest import ROOT, findings, scan_tree
from .conftest import write_tree as _write

FX = ROOT / "tests" / "fixtures" / "journald_dns"
IDS = ["SYS010", "NET011"]


@pytest.fixture(scope="module")
def bad() -> RunReport:
    return scan_tree(FX / "bad", only=IDS)


@pytest.fixture(scope="module")
def good() -> RunReport:
    return scan_tree(FX / "good", only=IDS)


def _where(f) -> list[tuple[str, int | None]]:  # type: ignore[no-untyped-def]
    return [(e.path, e.line) for e in f.evidence]



# -- parser ---------------------------------------------------------------------------------------


def test_timespan() -> None:
    assert parse_timespan("2weeks") == 14 * 86400
    assert parse_timespan("1month 3d") == 2629800 + 3 * 86400
    assert parse_timespan("3600") == 3600
    assert parse_timespan("5m") == 300  # minutes; M is months
    assert parse_timespan("1M") == 2629800
    assert parse_timespan("${RET}") is None
    assert parse_timespan("soon") is None


def test_merge_last_wins_and_empty_resets() -> None:
    from chom_validate.artifacts.base import Artifact

    main = Artifact(path="etc/systemd/journald.conf", kind="journald_conf", text="", digest="")
    drop = Artifact(path="etc/systemd/journald.conf.d/90-x.conf", kind="journald_conf", text="", digest="")
    a = parse_journald_text("[Journal]\nStorage=volatile\nSystemMaxUse=1G\n[Other]\nStorage=none\n")
    b = parse_journald_text("[Journal]\nStorage=persistent\nSystemMaxUse=\n")
    merged = merge_journald([(drop, b), (main, a)])  # order of discovery does not matter
    assert merged.get("Storage") is not None and merged.get("Storage").value == "persistent"  # type: ignore[union-attr]
    assert merged.get("SystemMaxUse") is None


# -- SYS010 ---------------------------------------------------------------------------------------


def test_journald_bad(bad: RunReport) -> None:
    fails = findings(bad, "SYS010", Status.FAIL)
    msgs = {f.message.split(":")[0].split(" (")[0]: _where(f) for f in fails}
    assert msgs["Storage=volatile"] == [("journald.conf.d/10-logs.conf", 3)]
    assert msgs["MaxRetentionSec=1day"] == [("journald.conf.d/10-logs.conf", 4)]
    assert any("RuntimeMaxUse" in f.message for f in fails)
    assert not findings(bad, "SYS010", Status.PASS)


def test_journald_heredoc_good(good: RunReport) -> None:
    res = findings(good, "SYS010")
    assert res and all(f.status == Status.PASS for f in res), [(f.status, f.message) for f in res]
    lines = sorted(e.line for f in res for e in f.evidence)
    assert lines == [11, 12, 13]  # heredoc lines mapped into setup-tls.sh


def test_journald_auto_is_unknown_and_caps_missing(tmp_path: Path) -> None:
    _write(tmp_path, {"etc/systemd/journald.conf": "[Journal]\n#Storage=auto\nCompress=yes\n"})
    rep = scan_tree(tmp_path, only=["SYS010"])
    statuses = sorted((f.status.value, f.message) for f in rep.findings)
    assert any(s == "not_applicable" and "Storage=" in m for s, m in statuses)
    assert any(s == "fail" and "SystemMaxUse" in m for s, m in statuses)
    assert not findings(rep, "SYS010", Status.PASS)


def test_journald_min_retention_setting(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {"journald.conf": "[Journal]\nStorage=persistent\nSystemKeepFree=2G\nMaxRetentionSec=10d\n"},
    )
    assert not findings(scan_tree(tmp_path, only=["SYS010"]), "SYS010", Status.FAIL)
    cfg = Config(systemd={"journal_min_retention_days": 30})
    fails = findings(scan_tree(tmp_path, cfg, only=["SYS010"]), "SYS010", Status.FAIL)
    assert [(f.message.split(" (")[0], _where(f)) for f in fails] == [
        ("MaxRetentionSec=10d", [("journald.conf", 4)])
    ]


def test_journald_templated_storage_unknown(tmp_path: Path) -> None:
    _write(tmp_path, {"journald.conf.j2": "[Journal]\nStorage={{ journal_storage }}\nSystemMaxUse=1G\n"})
    rep = scan_tree(tmp_path, only=["SYS010"])
    storage = [f for f in rep.findings if "Storage" in f.message]
    assert [f.status for f in storage] == [Status.NOT_APPLICABLE]


def test_journald_absent_and_lookalikes_not_applicable(tmp_path: Path) -> None:
    # a journald.conf without [Journal], and a [Journal] section in an unrelated file: neither counts
    _write(
        tmp_path, {"journald.conf": "# empty\nStorage=none\n", "other/app.conf": "[Journal]\nStorage=none\n"}
    )
    res = scan_tree(tmp_path, only=["SYS010"]).findings
    assert [f.status for f in res] == [Status.NOT_APPLICABLE]


# -- NET011 ---------------------------------------------------------------------------------------


def test_dns_bad(bad: RunReport) -> None:
    fails = findings(bad, "NET011", Status.FAIL)
    assert len(fails) == 2
    nodns = next(f for f in fails if "without a DNS check" in f.message)
    assert _where(nodns) == [("setup-tls.sh", 5)]
    mismatch = next(f for f in fails if "server_name" in f.message)
    assert _where(mismatch) == [("setup-tls.sh", 5), ("site.conf", 3)]
    assert "www.example.org" in mismatch.message and "example.org" in mismatch.message


def test_dns_good_sourced_function(good: RunReport) -> None:
    res = findings(good, "NET011")
    assert [f.status for f in res] == [Status.PASS]
    assert _where(res[0]) == [("setup-tls.sh", 5), ("setup-tls.sh", 7)]


def test_dns_lookup_after_certbot_or_other_name_does_not_count(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "tls.sh": "#!/bin/bash\ndig +short google.com\n"
            "certbot certonly --nginx -d app.example.com\ngetent hosts app.example.com\n"
        },
    )
    fails = findings(scan_tree(tmp_path, only=["NET011"]), "NET011", Status.FAIL)
    assert [_where(f) for f in fails] == [[("tls.sh", 3)]]


def test_dns_inline_check_passes_and_wildcard_server_name(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "tls.sh": "#!/bin/bash\nD=app.example.com\n"
            'resolvectl query "$D" >/dev/null || exit 1\n'
            'certbot certonly --webroot -w /srv -d "$D" --non-interactive\n',
            "site.conf": "server {\n  listen 443 ssl;\n  server_name *.example.com;\n}\n",
        },
    )
    res = findings(scan_tree(tmp_path, only=["NET011"]), "NET011")
    assert [f.status for f in res] == [Status.PASS]


def test_dns_unknown_domain_not_compared(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "tls.sh": '#!/bin/bash\nhost "$1"\ncertbot certonly --webroot -w /srv -d "$1"\n',
            "site.conf": "server {\n  listen 80;\n  server_name example.com;\n}\n",
        },
    )
    res = findings(scan_tree(tmp_path, only=["NET011"]), "NET011")
    assert [f.status for f in res] == [Status.PASS]


def test_dns_no_certbot_not_applicable(tmp_path: Path) -> None:
    _write(tmp_path, {"renew.sh": "#!/bin/bash\ncertbot renew --quiet\n"})
    res = scan_tree(tmp_path, only=["NET011"]).findings
    assert [f.status for f in res] == [Status.NOT_APPLICABLE]
