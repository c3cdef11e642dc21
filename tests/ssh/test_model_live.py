"""`chom-validate model --host` / `--snapshot` against the real loopback sshd: live facts (loaded units,
listening sockets, the active firewall, cron files, file modes) fill the same model as a tree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ._sshd import Sshd


def _model(cli, *args: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = cli("model", *args, "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert isinstance(data, dict)
    return data


def _check_live(m: dict[str, Any], kind: str) -> None:
    assert (m["source"], m["name"]) == (kind, "landsraad")
    role = m["roles"][0]
    assert role["name"] == "app+web+db+cache" and role["hosts"] == ["landsraad"]
    # loaded units (systemctl show), with their state and where the fact comes from
    svc = {s["name"]: s for s in role["services"]}
    assert svc["redis_exporter.service"]["state"] == "failed/failed"
    assert svc["chom-app.service"]["unit_path"] == "/etc/systemd/system/chom-app.service"
    assert svc["chom-app.service"]["at"].startswith("landsraad: systemctl show")
    # listening sockets (ss -ltnp): the same Listener type a tree fills from configs
    ls = {(li["port"], li["address"], li["what"]) for li in role["listeners"]}
    assert (3306, "127.0.0.1", "mysqld") in ls and (9100, "*", "node_exporter") in ls
    assert all(li["at"].startswith("landsraad: ss -ltnp") for li in role["listeners"])
    # the active firewall (ufw status verbose) as one rule set of the host
    ((src, rules),) = role["firewall"].items()
    assert src == "landsraad (ufw, active)"
    assert rules[0]["rule"] == "default deny incoming"
    assert any("9113" in r["rule"] and "51.254.139.78" in r["rule"] for r in rules)
    # cron files collected from the host, with their lines
    assert any(s["at"].startswith("etc/cron.d/chom-backup:") for s in role["schedules"])


def test_model_live_host(cli, sshd: Sshd, ssh_config_file: Path) -> None:  # type: ignore[no-untyped-def]
    m = _model(
        cli, "--host", "landsraad", "--config", str(ssh_config_file), "--known-hosts", str(sshd.known_hosts)
    )
    _check_live(m, "host")


def test_model_snapshot_equals_live(cli, sshd: Sshd, ssh_config_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    snap = tmp_path / "landsraad.tar.gz"
    common = ["--config", str(ssh_config_file)]
    c = cli(
        "capture", "--host", "landsraad", "-o", str(snap), "--known-hosts", str(sshd.known_hosts), *common
    )
    assert c.returncode == 0, c.stderr
    offline = _model(cli, "--snapshot", str(snap), *common)
    _check_live(offline, "snapshot")
    live = _model(cli, "--host", "landsraad", "--known-hosts", str(sshd.known_hosts), *common)
    for d in (offline, live):
        d.pop("seconds", None)
        d.pop("source", None)
    assert offline == live
