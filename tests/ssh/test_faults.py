"""SSH fault matrix against real servers: each bad host fails alone, in one line naming host, port and
reason; the good host completes; the run exits 2 and still writes its results.

Servers: two real loopback sshd (tests/ssh/_sshd.py; the second one's key is what a "changed" key
looks like) and small listeners on 127.0.0.1 started here: one that accepts and closes, one that
answers HTTP, one that never answers; a refused port is a free port nobody listens on.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ._sshd import SSHD, Sshd, free_port, keygen, start_sshd
from .conftest import FIXTURES, build_host_tree

CLI = [sys.executable, "-c", "from chom_validate.cli import main; main()"]


class Listener:
    """A TCP server on 127.0.0.1 with one behaviour per connection: close, http or silent."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.held: list[socket.socket] = []
        self.stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.mode == "close":
                conn.close()
            elif self.mode == "http":
                conn.settimeout(2)
                try:
                    conn.recv(1024)
                    conn.sendall(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                except OSError:
                    pass
                conn.close()
            else:  # silent: hold the connection open, never write
                self.held.append(conn)

    def close(self) -> None:
        self.stop = True
        self.sock.close()
        for c in self.held:
            c.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    if not SSHD.exists() or not shutil.which("ssh-keygen"):
        pytest.skip("/usr/sbin/sshd or ssh-keygen missing: apt-get install openssh-server openssh-client")
    base = tmp_path_factory.mktemp("faults")
    good = start_sshd(base / "good", FIXTURES / "fake")
    other = start_sshd(base / "other", FIXTURES / "fake")
    (good.dir / "basebin" / "sudo").unlink(missing_ok=True)  # a host without sudo
    listeners = {m: Listener(m) for m in ("close", "http", "silent")}
    yield {"good": good, "other": other, "listeners": listeners, "base": base}
    for lst in listeners.values():
        lst.close()
    good.stop()
    other.stop()


def _host(port: int, key: Path, prefix: Path, address: str = "127.0.0.1") -> dict[str, object]:
    return {
        "address": address,
        "port": port,
        "user": "root",
        "identity_file": str(key),
        "path_prefix": str(prefix),
        "roles": ["app"],
    }


def _run(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "CHOM_VALIDATE_NO_CACHE": "1"}
    env.pop("CHOM_DEBUG", None)
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def test_fault_matrix(servers: dict[str, object], tmp_path: Path) -> None:
    good: Sshd = servers["good"]  # type: ignore[assignment]
    other: Sshd = servers["other"]  # type: ignore[assignment]
    lst: dict[str, Listener] = servers["listeners"]  # type: ignore[assignment]
    tree = build_host_tree(tmp_path / "host", "landsraad")
    wrong_key = tmp_path / "wrong_key"
    keygen(wrong_key)
    refused = free_port()
    hosts = {
        "good": _host(good.port, good.client_key, tree),
        "refused": _host(refused, good.client_key, tree),
        "closer": _host(lst["close"].port, good.client_key, tree),
        "httpd": _host(lst["http"].port, good.client_key, tree),
        "silent": _host(lst["silent"].port, good.client_key, tree),
        "wrongkey": _host(good.port, wrong_key, tree),
        "unknown": _host(other.port, other.client_key, tree),  # its key is not in known_hosts
        "changed": _host(good.port, good.client_key, tree, address="localhost"),
    }
    known = tmp_path / "known_hosts"
    # "changed": localhost:<good port> is recorded with the other server's key
    other_pub = (other.dir / "ssh_host_ed25519_key.pub").read_text().split()
    known.write_text(good.host_key_line() + f"[localhost]:{good.port} {other_pub[0]} {other_pub[1]}\n")
    cfg = tmp_path / "chom-validate.yaml"
    cfg.write_text(yaml.safe_dump({"version": 1, "hosts": hosts}))
    out = tmp_path / "out.json"
    t0 = time.perf_counter()
    r = _run(
        [
            "all",
            "--hosts",
            "all",
            "--config",
            str(cfg),
            "--known-hosts",
            str(known),
            "--connect-timeout",
            "3",
            "--jobs",
            "8",
            "--format",
            "json",
            "-o",
            str(out),
            "--no-cache",
        ],
        tmp_path,
    )
    took = time.perf_counter() - t0
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stdout + r.stderr, r.stderr[-3000:]
    report = json.loads(out.read_text())
    errors = {t["name"]: t.get("error") for t in report["targets"]}
    assert errors["good"] is None
    assert any(f["target"] == "good" and f["status"] == "pass" for f in report["findings"])
    expect = {
        "refused": (refused, "connection refused"),
        "closer": (lst["close"].port, "closes them without an SSH banner"),
        "httpd": (lst["http"].port, "answers HTTP"),
        "silent": (lst["silent"].port, "sends no SSH banner"),
        "wrongkey": (good.port, "authentication failed"),
        "unknown": (other.port, "unknown host key"),
        "changed": (good.port, "HOST KEY CHANGED"),
    }
    for name, (port, reason) in expect.items():
        err = errors[name]
        assert err, f"{name} did not fail"
        assert "\n" not in err, err
        assert name in err and f":{port}" in err and reason in err, err
    assert "SSHException" not in r.stderr and "No existing session" not in r.stderr
    assert took < 60, f"the fault matrix took {took:.0f}s: a bad host held the others up"


def test_sudo_without_sudo_says_so(servers: dict[str, object], tmp_path: Path) -> None:
    good: Sshd = servers["good"]  # type: ignore[assignment]
    tree = build_host_tree(tmp_path / "host", "landsraad")
    cfg = tmp_path / "chom-validate.yaml"
    cfg.write_text(
        yaml.safe_dump({"version": 1, "hosts": {"nosudo": _host(good.port, good.client_key, tree)}})
    )
    out = tmp_path / "out.json"
    r = _run(
        [
            "all",
            "--host",
            "nosudo",
            "--sudo",
            "--config",
            str(cfg),
            "--known-hosts",
            str(good.known_hosts),
            "--format",
            "json",
            "-o",
            str(out),
            "--no-cache",
        ],
        tmp_path,
    )
    assert r.returncode == 2
    err = json.loads(out.read_text())["targets"][0]["error"]
    assert "sudo" in err and "not installed" in err and "tar" not in err, err
    assert f":{good.port}" in err


def test_sshd_killed_mid_run(servers: dict[str, object], tmp_path: Path) -> None:
    """The server dies while commands run: one line naming host and port, results still written."""
    base: Path = servers["base"]  # type: ignore[assignment]
    doomed = start_sshd(base / f"doomed-{time.monotonic_ns()}", FIXTURES / "fake")
    good: Sshd = servers["good"]  # type: ignore[assignment]
    try:
        for cmd in ("systemctl", "ss", "ufw"):
            (doomed.fake / f"{cmd}.sleep").write_text("20\n")  # slow host: commands take 20 s
        tree = build_host_tree(tmp_path / "host", "landsraad")
        cfg = tmp_path / "chom-validate.yaml"
        cfg.write_text(
            yaml.safe_dump(
                {
                    "version": 1,
                    "hosts": {
                        "doomed": _host(doomed.port, doomed.client_key, tree),
                        "good": _host(good.port, good.client_key, tree),
                    },
                }
            )
        )
        known = tmp_path / "known_hosts"
        known.write_text(doomed.host_key_line() + good.host_key_line())
        threading.Timer(2.5, doomed.stop).start()
        out = tmp_path / "out.json"
        r = _run(
            [
                "all",
                "--hosts",
                "all",
                "--config",
                str(cfg),
                "--known-hosts",
                str(known),
                "--format",
                "json",
                "-o",
                str(out),
                "--no-cache",
            ],
            tmp_path,
            timeout=90,
        )
        assert "Traceback" not in r.stdout + r.stderr, r.stderr[-3000:]
        assert r.returncode == 2, r.stderr[-1000:]
        errors = {t["name"]: t.get("error") for t in json.loads(out.read_text())["targets"]}
        assert errors["good"] is None
        err = errors["doomed"]
        assert err and "\n" not in err and f":{doomed.port}" in err and "doomed" in err, err
    finally:
        doomed.stop()


def test_slow_host_times_out_alone(servers: dict[str, object], tmp_path: Path) -> None:
    """Commands slower than --command-timeout are reported as timed out; the run completes."""
    base: Path = servers["base"]  # type: ignore[assignment]
    slow = start_sshd(base / f"slow-{time.monotonic_ns()}", FIXTURES / "fake")
    try:
        (slow.fake / "systemctl.sleep").write_text("10\n")
        tree = build_host_tree(tmp_path / "host", "landsraad")
        cfg = tmp_path / "chom-validate.yaml"
        cfg.write_text(
            yaml.safe_dump({"version": 1, "hosts": {"slow": _host(slow.port, slow.client_key, tree)}})
        )
        out = tmp_path / "out.json"
        t0 = time.perf_counter()
        r = _run(
            [
                "all",
                "--host",
                "slow",
                "--config",
                str(cfg),
                "--known-hosts",
                str(slow.known_hosts),
                "--command-timeout",
                "2",
                "--format",
                "json",
                "-o",
                str(out),
                "--no-cache",
            ],
            tmp_path,
        )
        assert time.perf_counter() - t0 < 40
        assert "Traceback" not in r.stdout + r.stderr
        assert r.returncode in (0, 1, 2)
        report = json.loads(out.read_text())
        assert report["targets"][0]["error"] is None
        assert report["findings"]
    finally:
        slow.stop()


def test_collection_paths_per_host_and_role(servers: dict[str, object], tmp_path: Path) -> None:
    """Defaults leave /opt alone; a role opts a path in, a host excludes part of it."""
    from chom_validate.cli.common import ScanArgs
    from chom_validate.config import load_config
    from chom_validate.targets.inventory import host_target_specs

    good: Sshd = servers["good"]  # type: ignore[assignment]
    tree = build_host_tree(tmp_path / "host", "landsraad")
    (tree / "opt" / "big" / "blob.sh").parent.mkdir(parents=True)
    (tree / "opt" / "big" / "blob.sh").write_text("#!/bin/sh\necho vendored\n")
    (tree / "opt" / "chom" / "cache").mkdir(parents=True)
    (tree / "opt" / "chom" / "cache" / "x.sh").write_text("#!/bin/sh\necho cached\n")
    hosts = {
        "plain": _host(good.port, good.client_key, tree),
        "app": {
            **_host(good.port, good.client_key, tree),
            "roles": ["app"],
            "collect": {"exclude": ["*/cache"]},
        },
    }
    cfg_path = tmp_path / "chom-validate.yaml"
    cfg_path.write_text(
        yaml.safe_dump(
            {"version": 1, "hosts": hosts, "roles": {"app": {"collect": {"include": ["opt/chom"]}}}}
        )
    )
    hosts["plain"]["roles"] = []
    cfg_path.write_text(
        yaml.safe_dump(
            {"version": 1, "hosts": hosts, "roles": {"app": {"collect": {"include": ["opt/chom"]}}}}
        )
    )
    cfg = load_config(cfg_path)
    args = ScanArgs(hosts=["plain", "app"], known_hosts=good.known_hosts)
    seen: dict[str, set[str]] = {}
    for spec in host_target_specs(args, cfg):
        t = spec.open()
        try:
            t.prepare([], [])
            seen[spec.name] = {e.path for e in t.files()}
        finally:
            t.close()
    assert not any(p.startswith("opt/") for p in seen["plain"]), sorted(seen["plain"])[:5]
    assert any(p.startswith("etc/systemd/system/") for p in seen["plain"])
    assert "opt/chom/firewall/setup-firewall.sh" in seen["app"]
    assert "opt/chom/cache/x.sh" not in seen["app"] and "opt/big/blob.sh" not in seen["app"]
