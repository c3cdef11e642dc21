"""Host-fact wiring checks over a real loopback sshd: LIV010 (the unit names SYS027 cannot resolve
in the files, vs the host's unit files) and LIV009 (the port sshd really listens on vs the firewall script installed on the host).

The host tree is the one tests/ssh builds (fixtures plus the example deployment at install
paths); `systemctl list-unit-files` answers from a fake whose output we choose, as a Debian host
with PHP 8.2 would (php8.2-fpm.service, no php-fpm.service). On a tree the same names are
`not_applicable` for SYS027: only a host knows what the distribution installs.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from chom_validate.findings import Finding, Status

from .conftest import findings, scan_tree
from .ssh._sshd import SSHD, Sshd, start_sshd
from .ssh.conftest import FIXTURES, build_host_tree, write_config
from .ssh.test_ssh import run_scan, specs_for

WORKER = """[Unit]
Description=CHOM queue worker
After=network-online.target php-fpm.service mysql.service mariadb.service
Wants=network-online.target
Requires=php-fpm.service

[Service]
User=www-data
ExecStart=/usr/bin/php /var/www/chom/current/artisan queue:work
Restart=on-failure
"""
GOOD_WORKER = WORKER.replace("php-fpm.service", "php8.2-fpm.service")
UNIT_FILES = """chom-app.service enabled enabled
node_exporter.service enabled enabled
redis_exporter.service enabled enabled
mysql.service enabled enabled
nginx.service enabled enabled
php8.2-fpm.service enabled enabled
redis-server.service enabled enabled
ssh.service enabled enabled
network-online.target static -
"""


@pytest.fixture(scope="module")
def host_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    if not SSHD.exists() or not shutil.which("ssh-keygen"):
        pytest.skip("/usr/sbin/sshd or ssh-keygen missing: apt-get install openssh-server openssh-client")
    server = start_sshd(tmp_path_factory.mktemp("wiring-sshd"), FIXTURES / "fake")
    (server.fake / "list-unit-files.out").write_text(UNIT_FILES)
    script = server.dir / "fakebin" / "systemctl"
    # list-unit-files gets its own output; every other systemctl call keeps the shared fake's.
    script.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = list-unit-files ] && exec cat "{server.fake}/list-unit-files.out"\n'
        f'exec cat "{server.fake}/systemctl.out"\n'
    )
    script.chmod(0o755)
    yield server
    server.stop()


def _scan_host(sshd: Sshd, root: Path, worker: str, check_id: str = "LIV010") -> list[Finding]:
    land = build_host_tree(root / "landsraad", "landsraad")
    (land / "etc" / "systemd" / "system" / "chom-worker.service").write_text(worker)
    cfg = write_config(root / "chom-validate.yaml", sshd, {"landsraad": land})
    report = run_scan(specs_for(cfg, "landsraad", known_hosts=sshd.known_hosts), cfg, only=[check_id])
    assert all(t.error is None for t in report.targets), [t.error for t in report.targets]
    return findings(report, check_id)


def test_versioned_unit_name_fails_on_host(host_sshd: Sshd, tmp_path: Path) -> None:
    got = _scan_host(host_sshd, tmp_path, WORKER)
    fails = [f for f in got if f.status == Status.FAIL]
    assert len(fails) == 1, [(f.status, f.message) for f in got]  # one root cause: php-fpm.service
    f = fails[0]
    assert "php-fpm.service" in f.message and "php8.2-fpm.service" in f.message
    sides = {(e.path, e.line) for e in f.evidence if e.path}
    assert ("etc/systemd/system/chom-worker.service", 5) in sides  # Requires= (the binding key)
    assert any(e.command and e.command[:2] == ["systemctl", "list-unit-files"] for e in f.evidence)
    # mariadb.service is absent too, but only in After= and with no versioned sibling: portability.
    assert "mariadb" not in f.message


def test_installed_names_pass_on_host(host_sshd: Sshd, tmp_path: Path) -> None:
    got = _scan_host(host_sshd, tmp_path, GOOD_WORKER)
    assert got and all(f.status == Status.PASS for f in got), [(f.status, f.message) for f in got]


def test_tree_leaves_distribution_names_not_applicable(tmp_path: Path) -> None:
    unit = tmp_path / "systemd" / "chom-worker.service"
    unit.parent.mkdir(parents=True)
    unit.write_text(WORKER)
    got = findings(scan_tree(tmp_path, only=["SYS027"]), "SYS027")
    assert not [f for f in got if f.status == Status.FAIL], [(f.status, f.message) for f in got]
    na = [f for f in got if f.status == Status.NOT_APPLICABLE]
    assert len(na) == 1 and "php-fpm.service" in na[0].message and "--host" in na[0].message


SS_SSHD_2222 = (FIXTURES / "fake" / "ss.out").read_text().replace("0.0.0.0:22 ", "0.0.0.0:2222 ")


def test_sshd_port_not_opened_by_the_host_firewall_script(host_sshd: Sshd, tmp_path: Path) -> None:
    (host_sshd.fake / "ss.out").write_text(SS_SSHD_2222)
    try:
        got = _scan_host(host_sshd, tmp_path, GOOD_WORKER, "LIV009")
    finally:
        shutil.copy(FIXTURES / "fake" / "ss.out", host_sshd.fake / "ss.out")
    fails = [f for f in got if f.status == Status.FAIL]
    assert len(fails) == 1, [(f.status, f.message) for f in got]
    f = fails[0]
    assert "2222" in f.message and f.effective_severity.value == "critical"
    files = {(e.path, e.line) for e in f.evidence if e.path}
    assert ("opt/chom/firewall/setup-firewall.sh", 28) in files  # ufw --force enable
    assert ("opt/chom/firewall/setup-firewall.sh", 13) in files  # ufw limit 22/tcp
    assert any(e.command == ["ss", "-ltnp"] and "2222" in (e.excerpt or "") for e in f.evidence)


def test_sshd_port_opened_passes(host_sshd: Sshd, tmp_path: Path) -> None:
    got = _scan_host(host_sshd, tmp_path, GOOD_WORKER, "LIV009")
    assert got and all(f.status == Status.PASS for f in got), [(f.status, f.message) for f in got]


def test_sshd_port_is_not_applicable_on_a_tree(tmp_path: Path) -> None:
    fw = tmp_path / "firewall" / "setup-firewall.sh"
    fw.parent.mkdir(parents=True)
    fw.write_text("#!/bin/sh\nufw default deny incoming\nufw limit 22/tcp\nufw --force enable\n")
    got = findings(scan_tree(tmp_path, only=["LIV009"]), "LIV009")
    assert got and all(f.status == Status.NOT_APPLICABLE for f in got), [(f.status, f.message) for f in got]
