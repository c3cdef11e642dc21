"""Live checks LIV003 (firewall fallbacks), LIV005-LIV007 and --sudo, against a real loopback sshd.

This module runs its own sshd (module scope) so it can change the fake ``ufw``/``nft``/
``iptables-save`` outputs, and remove a command to make it missing (exit 127), without
disturbing the session server of the other SSH tests.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from chom_validate.findings import Finding, Status
from chom_validate.results import RunReport

from ._sshd import SSHD, Sshd, start_sshd
from .conftest import FIXTURES, build_host_tree, write_config
from .test_ssh import params, run_scan, specs_for

UFW_INACTIVE = "Status: inactive\n"
NFT_RULESET = """table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ct state established,related accept
		tcp dport 22 accept
		tcp dport { 80, 443 } accept
		ip saddr 51.254.139.78 tcp dport { 9100, 9113, 9253, 9104 } accept
		tcp dport 9100 accept
	}
}
"""
IPTABLES_SAVE = """*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT
-A INPUT -s 51.254.139.78/32 -p tcp -m tcp --dport 9100 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 8080 -j ACCEPT
COMMIT
"""
UFW_DRIFTED = (FIXTURES / "fake" / "ufw.out").read_text().replace(
    "9113/tcp                   ALLOW IN    51.254.139.78\n", ""
) + "9121/tcp                   ALLOW IN    Anywhere\n"


@pytest.fixture(scope="module")
def live_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    if not SSHD.exists() or not shutil.which("ssh-keygen"):
        pytest.skip("/usr/sbin/sshd or ssh-keygen missing: apt-get install openssh-server openssh-client")
    server = start_sshd(tmp_path_factory.mktemp("live-sshd"), FIXTURES / "fake")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def live_hosts(live_sshd: Sshd, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("live-hosts")
    land = build_host_tree(root / "landsraad", "landsraad")
    ment = build_host_tree(root / "mentat", "mentat")
    app = land / "opt" / "chom" / "app"
    app.mkdir(parents=True)
    (app / ".env").write_text("APP_ENV=production\nDB_PASSWORD=s3cr3t-live-value\n")
    (app / ".env").chmod(0o644)
    (app / "worker.env").write_text("QUEUE=default\nREDIS_PASSWORD=an0ther-value\n")
    (app / "worker.env").chmod(0o640)
    (land / "etc" / "systemd" / "system" / "chom-worker.service").write_text(
        "[Unit]\nDescription=worker\n\n[Service]\nExecStart=/usr/bin/php artisan queue:work\n"
        "EnvironmentFile=/opt/chom/app/worker.env\nEnvironmentFile=-/etc/chom/extra.env\n"
        "EnvironmentFile=/opt/chom/app/.env\n"
    )
    cfg = write_config(root / "chom-validate.yaml", live_sshd, {"landsraad": land, "mentat": ment})
    # Scrape targets in the example's prometheus.yml use the private addresses: map them to hosts.
    text = cfg.read_text().replace(
        "  landsraad:\n    address: 127.0.0.1\n",
        "  landsraad:\n    address: 127.0.0.1\n    private_address: 51.77.150.96\n",
    )
    cfg.write_text(text)
    return {"landsraad": land, "mentat": ment, "config": cfg}


def fake(sshd: Sshd, cmd: str, out: str | None) -> None:
    """Give ``cmd`` this output on the host (None: the command is not installed, exit 127)."""
    script = sshd.dir / "fakebin" / cmd
    if out is None:
        script.unlink(missing_ok=True)
        return
    (sshd.fake / f"{cmd}.out").write_text(out)
    script.write_text(f'#!/bin/sh\ncat "{sshd.fake}/{cmd}.out"\n')
    script.chmod(0o755)


@pytest.fixture()
def firewall(live_sshd: Sshd) -> Iterator[None]:
    """Reset to: ufw active (fixture output), nft and iptables-save missing."""
    fake(live_sshd, "ufw", (FIXTURES / "fake" / "ufw.out").read_text())
    fake(live_sshd, "nft", None)
    fake(live_sshd, "iptables-save", None)
    yield
    fake(live_sshd, "ufw", (FIXTURES / "fake" / "ufw.out").read_text())
    fake(live_sshd, "nft", None)
    fake(live_sshd, "iptables-save", None)


def scan_hosts(live_sshd: Sshd, live_hosts: dict[str, Path], *hosts: str) -> RunReport:
    cfg = live_hosts["config"]
    return run_scan(specs_for(cfg, *hosts, known_hosts=live_sshd.known_hosts), cfg)


def of(report: RunReport, check_id: str, host: str = "landsraad") -> list[Finding]:
    return [f for f in report.findings if f.check_id == check_id and f.target == host]


def keyed(findings: list[Finding]) -> set[tuple[str, str | None]]:
    return {(f.status.value, f.subject) for f in findings}


# -- LIV003: ufw, then nftables, then iptables ------------------------------------------------------


def test_liv003_ufw_active(live_sshd: Sshd, live_hosts: dict[str, Path], firewall: None) -> None:
    got = of(scan_hosts(live_sshd, live_hosts, "landsraad"), "LIV003")
    assert keyed(got) == {("fail", "landsraad:8080")}
    assert got[0].evidence[1].command == ["ufw", "status", "verbose"]
    assert "8080/tcp" in (got[0].evidence[1].excerpt or "")


def test_liv003_falls_back_to_nft_when_ufw_inactive(
    live_sshd: Sshd, live_hosts: dict[str, Path], firewall: None
) -> None:
    fake(live_sshd, "ufw", UFW_INACTIVE)
    fake(live_sshd, "nft", NFT_RULESET)
    got = of(scan_hosts(live_sshd, live_hosts, "landsraad"), "LIV003")
    # nft: 9100 accepted from anywhere by the last rule; 8080 dropped by the policy
    assert keyed(got) == {("fail", "landsraad:9100")}
    assert got[0].evidence[1].command == ["nft", "list", "ruleset"]
    assert got[0].evidence[1].excerpt == "tcp dport 9100 accept"


def test_liv003_falls_back_to_iptables_when_ufw_and_nft_missing(
    live_sshd: Sshd, live_hosts: dict[str, Path], firewall: None
) -> None:
    fake(live_sshd, "ufw", None)
    fake(live_sshd, "iptables-save", IPTABLES_SAVE)
    got = of(scan_hosts(live_sshd, live_hosts, "landsraad"), "LIV003")
    assert keyed(got) == {("fail", "landsraad:8080")}  # 9100 only from the monitoring host
    assert got[0].evidence[1].command == ["iptables-save"]
    assert "--dport 8080" in (got[0].evidence[1].excerpt or "")


def test_liv003_no_firewall_tool_is_not_applicable_never_pass(
    live_sshd: Sshd, live_hosts: dict[str, Path], firewall: None
) -> None:
    fake(live_sshd, "ufw", None)
    r = scan_hosts(live_sshd, live_hosts, "landsraad")
    assert {f.status for f in of(r, "LIV003")} == {Status.NOT_APPLICABLE}
    assert {f.status for f in of(r, "LIV005")} == {Status.NOT_APPLICABLE}


def test_liv003_inactive_everywhere_means_every_port_open(
    live_sshd: Sshd, live_hosts: dict[str, Path], firewall: None
) -> None:
    fake(live_sshd, "ufw", UFW_INACTIVE)
    got = of(scan_hosts(live_sshd, live_hosts, "landsraad"), "LIV003")
    assert keyed(got) == {("fail", "landsraad:9100"), ("fail", "landsraad:8080")}


# -- LIV005: running firewall vs the script ---------------------------------------------------------


def test_liv005_matches_the_script(live_sshd: Sshd, live_hosts: dict[str, Path], firewall: None) -> None:
    got = of(scan_hosts(live_sshd, live_hosts, "landsraad"), "LIV005")
    assert keyed(got) == {("pass", "landsraad")}


def test_liv005_reports_drift_both_ways(live_sshd: Sshd, live_hosts: dict[str, Path], firewall: None) -> None:
    fake(live_sshd, "ufw", UFW_DRIFTED)
    got = of(scan_hosts(live_sshd, live_hosts, "landsraad"), "LIV005")
    assert keyed(got) == {("fail", "landsraad:9113"), ("fail", "landsraad:9121")}
    missing = next(f for f in got if f.subject == "landsraad:9113")
    assert missing.evidence[0].path == "opt/chom/firewall/setup-firewall.sh" and missing.evidence[0].line
    assert missing.evidence[1].command == ["ufw", "status", "verbose"]
    extra = next(f for f in got if f.subject == "landsraad:9121")
    assert extra.evidence[0].excerpt and "9121/tcp" in extra.evidence[0].excerpt
    assert extra.evidence[1].path == "opt/chom/firewall/setup-firewall.sh"


def test_liv005_against_nft_and_nothing_active(
    live_sshd: Sshd, live_hosts: dict[str, Path], firewall: None
) -> None:
    fake(live_sshd, "ufw", UFW_INACTIVE)
    fake(live_sshd, "nft", NFT_RULESET)
    got = of(scan_hosts(live_sshd, live_hosts, "landsraad"), "LIV005")
    subjects = keyed(got)
    assert ("fail", "landsraad:8080") in subjects  # script allows 8080, nft drops it
    assert ("fail", "landsraad:9100") in subjects  # nft opens 9100 to the world, script does not
    fake(live_sshd, "nft", None)
    got = of(scan_hosts(live_sshd, live_hosts, "landsraad"), "LIV005")
    assert keyed(got) == {("fail", "landsraad")}
    assert "none is active" in got[0].message


def test_liv005_to_007_not_applicable_on_a_repository(live_hosts: dict[str, Path]) -> None:
    from chom_validate.engine import TargetSpec
    from chom_validate.targets.local import LocalTree

    land = live_hosts["landsraad"]
    r = run_scan([TargetSpec("landsraad", "local", lambda: LocalTree(land))])
    for cid in ("LIV005", "LIV006", "LIV007"):
        assert {f.status for f in of(r, cid)} == {Status.NOT_APPLICABLE}, cid


# -- LIV006: secrets readable by others -------------------------------------------------------------


def test_liv006_env_files_and_secrets(live_sshd: Sshd, live_hosts: dict[str, Path], firewall: None) -> None:
    r = scan_hosts(live_sshd, live_hosts, "landsraad")
    got = of(r, "LIV006")
    assert keyed(got) == {
        ("pass", "/opt/chom/app/worker.env"),
        ("not_applicable", "/etc/chom/extra.env"),
        ("fail", "/opt/chom/app/.env"),
    }
    bad = next(f for f in got if f.status == Status.FAIL)
    assert "world-readable (mode 0644)" in bad.message
    assert bad.evidence[0].path == "etc/systemd/system/chom-worker.service"
    dump = r.model_dump_json()
    assert "s3cr3t-live-value" not in dump and "an0ther-value" not in dump


# -- LIV007: scrape targets listening on the target host (fleet-aware) -------------------------------


def test_liv007_fleet_scrape_targets_against_ss(
    live_sshd: Sshd, live_hosts: dict[str, Path], firewall: None
) -> None:
    r = scan_hosts(live_sshd, live_hosts, "landsraad", "mentat")
    land = keyed(of(r, "LIV007"))
    # fake ss: 9100 and 8080 listen on 0.0.0.0; 9113/9253/9104/9121 have no socket
    assert ("pass", "landsraad:9100") in land and ("pass", "landsraad:8080") in land
    for port in (9113, 9253, 9104, 9121):
        assert ("fail", f"landsraad:{port}") in land
    f = next(f for f in of(r, "LIV007") if f.subject == "landsraad:9121")
    assert f.evidence[0].path == "etc/prometheus/prometheus.yml" and f.evidence[0].host == "mentat"
    assert f.evidence[1].command == ["ss", "-ltnp"] and f.evidence[1].host == "landsraad"
    # alone, landsraad has no Prometheus config in the fleet: nothing to compare
    alone = of(scan_hosts(live_sshd, live_hosts, "landsraad"), "LIV007")
    assert {f.status for f in alone} == {Status.NOT_APPLICABLE}


def test_liv007_ss_missing_is_not_applicable(
    live_sshd: Sshd, live_hosts: dict[str, Path], firewall: None
) -> None:
    fake(live_sshd, "ss", None)
    try:
        r = scan_hosts(live_sshd, live_hosts, "landsraad", "mentat")
        assert {f.status for f in of(r, "LIV007")} == {Status.NOT_APPLICABLE}
        assert {f.status for f in of(r, "LIV003")} == {Status.NOT_APPLICABLE}
    finally:
        fake(live_sshd, "ss", (FIXTURES / "fake" / "ss.out").read_text())


# -- --sudo ---------------------------------------------------------------------------------------


def test_sudo_prefixes_allowlisted_reads(live_sshd: Sshd, live_hosts: dict[str, Path]) -> None:
    if not Path("/usr/bin/sudo").exists():
        pytest.skip("/usr/bin/sudo absent: apt-get install sudo (CI installs it)")
    from chom_validate.targets.ssh import SshHost

    host = SshHost(params(live_sshd, live_hosts["landsraad"], sudo=True))
    try:
        host.prepare([], [["uname", "-a"], ["certbot", "certificates"]])
        uname = host.run(["uname", "-a"])
        assert uname.returncode == 0 and uname.stdout.strip(), uname.stderr
        # sudo resets PATH (secure_path): the fake certbot is not found through sudo, and a
        # command missing behind sudo is reported missing (-> not_applicable), never a pass
        if shutil.which("certbot") is None:
            certbot = host.run(["certbot", "certificates"])
            assert certbot.missing, (certbot.returncode, certbot.stderr)
        # files came through `sudo -n tar`: the tree is there
        assert host.exists("etc/systemd/system/chom-app.service")
        assert host.exists("opt/chom/app/.env")
        assert not host.problems
    finally:
        host.close()


# -- progress -------------------------------------------------------------------------------------


def test_progress_lines_per_host_when_not_a_tty(cli, live_sshd: Sshd, live_hosts: dict[str, Path]) -> None:  # type: ignore[no-untyped-def]
    cfg = str(live_hosts["config"])
    r = cli(
        "all",
        "--host",
        "landsraad",
        "--host",
        "mentat",
        "--config",
        cfg,
        "--known-hosts",
        str(live_sshd.known_hosts),
    )
    assert r.returncode in (0, 1), r.stderr
    for name in ("landsraad", "mentat"):
        assert f"[{name}] connecting" in r.stderr
        assert f"[{name}] collected " in r.stderr and "round trip(s)" in r.stderr
        assert f"[{name}] running " in r.stderr
    assert "[landsraad]" not in r.stdout  # progress never mixes into the report
    q = cli(
        "all", "--host", "landsraad", "--config", cfg, "--known-hosts", str(live_sshd.known_hosts), "--quiet"
    )
    assert "[landsraad] connecting" not in q.stderr
    bad = cli(
        "all",
        "--host",
        "landsraad",
        "--config",
        cfg,
        "--known-hosts",
        str(live_hosts["config"].parent / "none"),
    )
    assert bad.returncode == 2 and "[landsraad] failed: " in bad.stderr and "unknown host key" in bad.stderr


# -- LIV008: the port sshd really listens on vs the active firewall ---------------------------------


SS_REAL = (FIXTURES / "fake" / "ss.out").read_text()


def test_net025_sshd_port_allowed(live_sshd: Sshd, live_hosts: dict[str, Path], firewall: None) -> None:
    fake(live_sshd, "ss", SS_REAL)
    got = of(scan_hosts(live_sshd, live_hosts, "landsraad"), "LIV008")
    assert keyed(got) == {("pass", "landsraad:22")}


def test_net025_sshd_moved_port_is_a_lockout(
    live_sshd: Sshd, live_hosts: dict[str, Path], firewall: None
) -> None:
    fake(live_sshd, "ss", SS_REAL.replace("0.0.0.0:22 ", "0.0.0.0:2222 "))
    try:
        got = of(scan_hosts(live_sshd, live_hosts, "landsraad"), "LIV008")
        assert keyed(got) == {("fail", "landsraad:2222")}
        assert got[0].effective_severity.value == "critical"
        assert [e.command for e in got[0].evidence] == [["ss", "-ltnp"], ["ufw", "status", "verbose"]]
        # no firewall active: nothing filters sshd
        fake(live_sshd, "ufw", UFW_INACTIVE)
        assert keyed(of(scan_hosts(live_sshd, live_hosts, "landsraad"), "LIV008")) == {("pass", "landsraad")}
    finally:
        fake(live_sshd, "ss", SS_REAL)


def test_net025_not_applicable_on_a_tree(tmp_path: Path) -> None:
    from ..conftest import findings, scan_tree

    (tmp_path / "fw.sh").write_text("#!/bin/bash\nufw limit 22/tcp\n")
    fs = findings(scan_tree(tmp_path, only=["LIV008"]), "LIV008")
    assert fs and all(f.status == Status.NOT_APPLICABLE for f in fs)
