"""SshHost against a real OpenSSH server on 127.0.0.1 (no mocks of paramiko)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
import threading
import time
from pathlib import Path

import pytest

from chom_validate.cli.common import ScanArgs
from chom_validate.config import load_config
from chom_validate.engine import RunOptions, TargetSpec, scan
from chom_validate.findings import Status
from chom_validate.registry import load_registry
from chom_validate.results import RunReport
from chom_validate.targets.base import CommandNotAllowed, TargetError
from chom_validate.targets.inventory import host_target_specs
from chom_validate.targets.local import LocalTree
from chom_validate.targets.ssh import DEFAULT_COLLECT, SshHost, SshParams

from ..conftest import FIXED_NOW
from ._sshd import Sshd, free_port, keygen, start_sshd
from .conftest import FIXTURES, build_host_tree, write_config


def params(sshd: Sshd, prefix: Path, name: str = "landsraad", **kw: object) -> SshParams:
    base: dict[str, object] = {
        "name": name,
        "hostname": "127.0.0.1",
        "port": sshd.port,
        "user": "root",
        "identity_files": [str(sshd.client_key)],
        "known_hosts": sshd.known_hosts,
        "path_prefix": str(prefix),
        "connect_timeout": 5.0,
        "command_timeout": 10.0,
        "collect": (*DEFAULT_COLLECT, "opt/chom"),  # the app lives in /opt: opted in, never a default
    }
    base.update(kw)
    return SshParams(**base)  # type: ignore[arg-type]


def run_scan(specs: list[TargetSpec], cfg_path: Path | None = None, jobs: int = 4, **kw: object) -> RunReport:
    cfg = load_config(cfg_path) if cfg_path else load_config(None)
    opts = RunOptions(profile="certified", now=dt.datetime.fromisoformat(FIXED_NOW), jobs=jobs, **kw)  # type: ignore[arg-type]
    return scan(specs, load_registry(), cfg, opts)


def specs_for(cfg_path: Path, *hosts: str, **kw: object) -> list[TargetSpec]:
    args = ScanArgs(hosts=list(hosts), connect_timeout=5.0, command_timeout=10.0, **kw)  # type: ignore[arg-type]
    return host_target_specs(args, load_config(cfg_path))


def keyed(report: RunReport, skip_prefix: tuple[str, ...] = ("LIV",)) -> list[tuple[object, ...]]:
    return sorted(
        (f.check_id, f.status.value, tuple((e.path, e.line) for e in f.evidence if e.path))
        for f in report.findings
        if not f.check_id.startswith(skip_prefix)
    )


# -- collection -----------------------------------------------------------------------------------


def test_collects_host_tree_in_constant_round_trips(sshd: Sshd, hosts_root: Path) -> None:
    h = SshHost(params(sshd, hosts_root / "landsraad"))
    try:
        h.prepare([], [["ss", "-ltnp"], ["ufw", "status", "verbose"], ["nft", "list", "ruleset"]])
        paths = {e.path for e in h.files()}
        assert "etc/systemd/system/chom-app.service" in paths
        assert "opt/chom/firewall/setup-firewall.sh" in paths
        assert "usr/local/bin/chom-backup.sh" in paths  # glob usr/local/bin/*.sh
        assert "usr/local/bin/node_exporter" not in paths  # binaries next to scripts are not streamed
        assert h.read_bytes("etc/ufw/ufw.conf") == (FIXTURES / "landsraad/etc/ufw/ufw.conf").read_bytes()
        assert h.stats.round_trips == 2  # one tar (+ SFTP glob listing) wave, glob files tar
        assert h.run(["ss", "-ltnp"]).stdout.startswith("State")
        nft = h.run(["nft", "list", "ruleset"])
        assert nft.missing and nft.returncode == 127
        assert h.stats.round_trips == 2  # planned commands are cached, no extra trip
        with pytest.raises(CommandNotAllowed):
            h.run(["rm", "-rf", "/"])
        with pytest.raises(CommandNotAllowed):
            h.run(["systemctl", "stop", "nginx"])
    finally:
        h.close()


def test_round_trips_do_not_grow_with_checks(sshd: Sshd, ssh_config_file: Path) -> None:
    reg = load_registry()
    ids = sorted(reg.checks)
    # The checks that need live commands plus a quarter of the others, against all of them: the same
    # commands are collected, so only the number of checks differs (fewer distinct commands may
    # legitimately need fewer parallel waves).
    command_ids = sorted(i for i, s in reg.checks.items() if s.commands)
    half = sorted(set(ids[::4]) | set(command_ids))
    assert command_ids and len(half) < len(ids) / 2
    r1 = run_scan(
        specs_for(ssh_config_file, "landsraad", known_hosts=sshd.known_hosts), ssh_config_file, only=half
    )
    r2 = run_scan(
        specs_for(ssh_config_file, "landsraad", known_hosts=sshd.known_hosts), ssh_config_file, only=ids
    )
    t1, t2 = r1.targets[0], r2.targets[0]
    assert t1.error is None and t2.error is None
    assert t1.stats["round_trips"] == t2.stats["round_trips"] <= 3
    assert t2.stats["files"] > 5 and t2.stats["bytes"] > 0


def test_success_equals_local_tree(sshd: Sshd, hosts_root: Path, ssh_config_file: Path) -> None:
    remote = run_scan(specs_for(ssh_config_file, "landsraad", known_hosts=sshd.known_hosts), ssh_config_file)
    assert remote.targets[0].error is None
    # The local tree holds exactly what was collected (the binary next to the scripts is not).
    h = SshHost(params(sshd, hosts_root / "landsraad"))
    local_root = hosts_root.parent / "local-landsraad"
    try:
        h.prepare([], [])
        for e in h.files():
            (local_root / e.path).parent.mkdir(parents=True, exist_ok=True)
            (local_root / e.path).write_bytes(h.read_bytes(e.path))
    finally:
        h.close()
    # Same config; the tree's files belong to landsraad as they do on the host.
    import yaml

    data = yaml.safe_load(ssh_config_file.read_text())
    data["hosts"]["landsraad"]["paths"] = ["*"]
    (hosts_root.parent / "local-cfg").mkdir(exist_ok=True)
    local_cfg = hosts_root.parent / "local-cfg" / "chom-validate.yaml"
    local_cfg.write_text(yaml.safe_dump(data))
    local = run_scan([TargetSpec(str(local_root), "local", lambda: LocalTree(local_root))], local_cfg)
    assert keyed(remote) == keyed(local)
    assert any(f.status == Status.FAIL for f in remote.findings if not f.check_id.startswith("LIV"))


def test_live_checks_compare_running_state_with_files(sshd: Sshd, ssh_config_file: Path) -> None:
    r = run_scan(specs_for(ssh_config_file, "landsraad", known_hosts=sshd.known_hosts), ssh_config_file)
    by = {(f.check_id, f.status.value, f.subject) for f in r.findings if f.check_id.startswith("LIV")}
    assert ("LIV001", "fail", "chom-app.service") in by  # file Restart=always, loaded Restart=no
    assert ("LIV001", "pass", "node_exporter.service") in by
    assert ("LIV002", "fail", "redis_exporter.service") in by  # enabled but failed
    assert ("LIV003", "fail", "landsraad:8080") in by  # ufw 8080 ALLOW IN Anywhere
    assert not any(c == "LIV003" and s.endswith((":22", ":80", ":9100", ":3306")) for c, _, s in by)
    assert ("LIV004", "fail", "grafana.arewel.com") in by  # 6 days left at the fixed clock
    assert ("LIV004", "pass", "chom.arewel.com") in by
    f = next(f for f in r.findings if f.check_id == "LIV001" and f.status == Status.FAIL)
    assert f.evidence[0].path == "etc/systemd/system/chom-app.service" and f.evidence[0].line
    assert (
        f.evidence[1].host == "landsraad"
        and f.evidence[1].command
        and f.evidence[1].command[0] == "systemctl"
    )


def test_live_checks_not_applicable_on_a_repository() -> None:
    r = run_scan([TargetSpec("fx", "local", lambda: LocalTree(FIXTURES / "landsraad"))])
    assert {f.status for f in r.findings if f.check_id.startswith("LIV")} == {Status.NOT_APPLICABLE}


# -- failures, each host on its own ---------------------------------------------------------------


def test_unknown_host_key_refused_then_accepted(sshd: Sshd, hosts_root: Path, tmp_path: Path) -> None:
    kh = tmp_path / "known_hosts"
    with pytest.raises(TargetError, match="--accept-new-host-keys"):
        SshHost(params(sshd, hosts_root / "landsraad", known_hosts=kh))
    assert not kh.exists()
    SshHost(params(sshd, hosts_root / "landsraad", known_hosts=kh, accept_new_host_keys=True)).close()
    assert f"[127.0.0.1]:{sshd.port} ssh-ed25519 " in kh.read_text()
    SshHost(params(sshd, hosts_root / "landsraad", known_hosts=kh)).close()  # now known


def test_changed_host_key_is_always_an_error(sshd: Sshd, hosts_root: Path, tmp_path: Path) -> None:
    keygen(tmp_path / "other")
    pub = (tmp_path / "other.pub").read_text().split()
    kh = tmp_path / "known_hosts"
    kh.write_text(f"[127.0.0.1]:{sshd.port} {pub[0]} {pub[1]}\n")
    for accept in (False, True):
        with pytest.raises(TargetError, match="HOST KEY CHANGED"):
            SshHost(params(sshd, hosts_root / "landsraad", known_hosts=kh, accept_new_host_keys=accept))


def test_wrong_key(sshd: Sshd, hosts_root: Path, tmp_path: Path) -> None:
    keygen(tmp_path / "stranger")
    with pytest.raises(TargetError, match="authentication failed for user 'root'"):
        SshHost(params(sshd, hosts_root / "landsraad", identity_files=[str(tmp_path / "stranger")]))


def test_connection_refused(sshd: Sshd, hosts_root: Path) -> None:
    with pytest.raises(TargetError, match="connection refused"):
        SshHost(params(sshd, hosts_root / "landsraad", port=free_port()))


def test_command_timeout(sshd: Sshd, hosts_root: Path) -> None:
    marker = sshd.fake / "free.sleep"
    marker.write_text("20")
    try:
        h = SshHost(params(sshd, hosts_root / "landsraad", command_timeout=1.0))
        try:
            t0 = time.perf_counter()
            r = h.run(["free", "-b"])
            assert r.timed_out and r.returncode == -1 and "timed out" in r.stderr
            assert time.perf_counter() - t0 < 5
            assert h.run(["hostname"]).stdout.strip() == "landsraad"  # the connection is still usable
        finally:
            h.close()
    finally:
        marker.unlink()


def test_server_killed_mid_run(hosts_root: Path, tmp_path: Path) -> None:
    if not Path("/usr/sbin/sshd").exists():
        pytest.skip("/usr/sbin/sshd missing")
    victim = start_sshd(tmp_path / "victim", FIXTURES / "fake")
    (victim.fake / "free.sleep").write_text("20")
    try:
        h = SshHost(params(victim, hosts_root / "landsraad"))
        threading.Timer(0.7, victim.stop).start()
        t0 = time.perf_counter()
        with pytest.raises(TargetError, match="connection dropped"):
            h.prepare([], [["free", "-b"]])
        assert time.perf_counter() - t0 < 8
        h.close()
    finally:
        victim.stop()


def test_fleet_of_twelve_hosts_in_parallel_one_failing(sshd: Sshd, hosts_root: Path, tmp_path: Path) -> None:
    hosts: dict[str, Path] = {}
    for i in range(12):
        hosts[f"host{i:02d}"] = build_host_tree(tmp_path / f"h{i:02d}", "landsraad" if i % 2 else "mentat")
    cfg = write_config(tmp_path / "fleet.yaml", sshd, hosts)
    text = cfg.read_text().replace(
        "host11:\n    address: 127.0.0.1\n    port: " + str(sshd.port),
        f"host11:\n    address: 127.0.0.1\n    port: {free_port()}",
    )
    cfg.write_text(text)
    t0 = time.perf_counter()
    r = run_scan(specs_for(cfg, *hosts, known_hosts=sshd.known_hosts), cfg, jobs=8)
    elapsed = time.perf_counter() - t0
    errors = {t.name: t.error for t in r.targets if t.error}
    assert list(errors) == ["host11"] and "connection refused" in (errors["host11"] or "")
    ok = [t for t in r.targets if not t.error]
    assert len(ok) == 11 and all(t.stats["files"] > 0 and t.stats["round_trips"] <= 3 for t in ok)
    assert r.summary["target_errors"] == 1
    assert elapsed < 60


def test_cli_per_host_scores_and_exit_code(cli, sshd: Sshd, ssh_config_file: Path) -> None:  # type: ignore[no-untyped-def]
    r = cli(
        "all",
        "--host",
        "landsraad",
        "--host",
        "mentat",
        "--config",
        str(ssh_config_file),
        "--known-hosts",
        str(sshd.known_hosts),
        "--now",
        FIXED_NOW,
    )
    assert r.returncode in (0, 1), r.stderr
    assert "landsraad: score" in r.stdout and "mentat: score" in r.stdout
    j = cli(
        "all",
        "--hosts",
        "all",
        "--config",
        str(ssh_config_file),
        "--known-hosts",
        str(sshd.known_hosts),
        "--format",
        "json",
        "--now",
        FIXED_NOW,
    )
    data = json.loads(j.stdout)
    assert {t["name"] for t in data["targets"]} == {"landsraad", "mentat"}
    for t in data["targets"]:
        assert t["kind"] == "ssh" and t["stats"]["round_trips"] >= 1 and "wire_bytes" in t["stats"]
    bad = cli("all", "--host", "landsraad", "--config", str(ssh_config_file), "--known-hosts", os.devnull)
    assert bad.returncode == 2 and "accept-new-host-keys" in bad.stdout + bad.stderr


def test_snapshot_round_trip_equals_live_run(cli, sshd: Sshd, ssh_config_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    snap = tmp_path / "landsraad.tar.gz"
    common = ["--config", str(ssh_config_file)]
    c = cli(
        "capture", "--host", "landsraad", "-o", str(snap), "--known-hosts", str(sshd.known_hosts), *common
    )
    assert c.returncode == 0, c.stderr
    assert stat.S_IMODE(snap.stat().st_mode) == 0o600
    from chom_validate.targets.snapshot import read_manifest

    m = read_manifest(snap)
    assert m["host"] == "landsraad" and m["tool_version"] and m["captured_at"]
    assert "etc/systemd/system/chom-app.service" in m["files"]
    assert any(row["argv"][:2] == ["ss", "-ltnp"] for row in m["commands"])
    live = cli(
        "all",
        "--host",
        "landsraad",
        "--known-hosts",
        str(sshd.known_hosts),
        "--format",
        "json",
        "--now",
        FIXED_NOW,
        *common,
    )
    offline = cli("all", "--snapshot", str(snap), "--format", "json", "--now", FIXED_NOW, *common)
    assert offline.returncode == live.returncode, offline.stderr

    def norm(out: str) -> list[tuple[object, ...]]:
        return sorted(
            (f["check_id"], f["status"], f["message"], json.dumps(f["evidence"], sort_keys=True))
            for f in json.loads(out)["findings"]
        )

    assert norm(offline.stdout) == norm(live.stdout)
    assert any(f[0] == "LIV001" and f[1] == "fail" for f in norm(offline.stdout))


def test_tampered_snapshot_refused(tmp_path: Path) -> None:
    import io
    import tarfile

    from chom_validate.targets.snapshot import SnapshotTarget, write_snapshot

    src = LocalTree(FIXTURES / "mentat", name="mentat")
    snap = tmp_path / "m.tar.gz"
    write_snapshot(src, snap, paths=[], commands=[])
    assert SnapshotTarget(snap).exists("etc/prometheus/prometheus.yml")
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(snap) as tin, tarfile.open(bad, "w:gz") as tout:
        for mem in tin:
            data = tin.extractfile(mem).read()  # type: ignore[union-attr]
            if mem.name.endswith("prometheus.yml"):
                data = data.replace(b"15s", b"99s")
            tout.addfile(mem, io.BytesIO(data))
    with pytest.raises(TargetError, match="does not match"):
        SnapshotTarget(bad)


def test_shutil_sanity() -> None:
    assert shutil.which("tar"), "tar is needed on the test host"
