"""`--check BAK021 --host` against the real loopback sshd collects the `crontab -l` the backup model
reads (the check declares no command; the plan derives it from the facts it calls)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._sshd import SSHD, Sshd, start_sshd
from .conftest import FIXTURES, build_host_tree, write_config

CRONTAB = "# m h dom mon dow command\n0 3 * * * restic -r /srv/repo backup /var/www\n0 3 * * * restic -r /srv/repo check\n"


@pytest.fixture(scope="module")
def crontab_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """Its own server (the session one has no crontab): the fakes plus a `crontab -l` with two jobs."""
    if not SSHD.exists():
        pytest.skip("/usr/sbin/sshd missing")
    server = start_sshd(tmp_path_factory.mktemp("sshd-cron"), FIXTURES / "fake")
    (server.fake / "crontab.out").write_text(CRONTAB)
    script = server.dir / "fakebin" / "crontab"
    script.write_text(f'#!/bin/sh\n[ "$1" = "-l" ] || exit 2\ncat "{server.fake}/crontab.out"\n')
    script.chmod(0o755)
    yield server
    server.stop()


def test_check_alone_on_host_collects_crontab(cli, crontab_sshd: Sshd, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = build_host_tree(tmp_path / "landsraad", "landsraad")
    cfg = write_config(tmp_path / "chom-validate.yaml", crontab_sshd, {"landsraad": root})
    r = cli(
        "all", "--host", "landsraad", "--config", str(cfg), "--known-hosts", str(crontab_sshd.known_hosts),
        "--check", "BAK021", "--format", "json",
    )  # fmt: skip
    assert r.returncode in (0, 1), r.stderr
    data = json.loads(r.stdout)
    fails = [f for f in data["findings"] if f["check_id"] == "BAK021" and f["status"] == "fail"]
    assert fails, [f["message"] for f in data["findings"]]
    assert {(e["path"], e["line"]) for f in fails for e in f["evidence"]} == {
        ("$ crontab -l", 2),
        ("$ crontab -l", 3),
    }
    assert data["targets"][0]["stats"]["commands"] == 1  # crontab -l, nothing else this check reads
