"""Real OpenSSH server on 127.0.0.1 (session scope) and host-like trees under per-host path prefixes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ._sshd import SSHD, Sshd, start_sshd

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "ssh"
EXAMPLE = ROOT / "examples" / "chom-deployment"

# Example repository files installed where they live on a real host (when the example has them).
_EXAMPLE_INSTALL = {
    "landsraad": [
        ("landsraad/systemd/*.service", "etc/systemd/system"),
        ("landsraad/firewall/*.sh", "opt/chom/firewall"),
        ("landsraad/cron/*", "etc/cron.d"),
        ("landsraad/backup/*.sh", "usr/local/bin"),
        ("landsraad/nginx/*", "etc/nginx/sites-available"),
    ],
    "mentat": [
        ("mentat/systemd/*.service", "etc/systemd/system"),
        ("mentat/prometheus/prometheus.yml", "etc/prometheus"),
        ("mentat/prometheus/rules/*.yml", "etc/prometheus/rules"),
        ("mentat/alertmanager/*.yml", "etc/alertmanager"),
    ],
}


def build_host_tree(dest: Path, role: str) -> Path:
    """A host-like tree: our fixture files plus the example deployment's files at install paths."""
    shutil.copytree(FIXTURES / role, dest, dirs_exist_ok=True, symlinks=True)
    for pattern, target in _EXAMPLE_INSTALL[role]:
        for f in sorted(EXAMPLE.glob(pattern)):
            if f.is_file():
                (dest / target).mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, dest / target / f.name)
    return dest


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    if not SSHD.exists():
        pytest.skip("/usr/sbin/sshd missing: apt-get install openssh-server openssh-client (CI installs it)")
    if not shutil.which("ssh-keygen"):
        pytest.skip("ssh-keygen missing: apt-get install openssh-client")
    server = start_sshd(tmp_path_factory.mktemp("sshd"), FIXTURES / "fake")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def hosts_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hosts")
    build_host_tree(root / "landsraad", "landsraad")
    build_host_tree(root / "mentat", "mentat")
    return root


def write_config(path: Path, sshd: Sshd, hosts: dict[str, Path], **extra: object) -> Path:
    cfg: dict[str, object] = {
        "version": 1,
        "profile": "hardened",
        "hosts": {
            name: {
                "address": "127.0.0.1",
                "port": sshd.port,
                "user": "root",
                "identity_file": str(sshd.client_key),
                "path_prefix": str(prefix),
                "roles": ["monitoring"] if name == "mentat" else ["app", "web", "db", "cache"],
            }
            for name, prefix in hosts.items()
        },
        # /opt is not collected by default; the app role opts its tree in (config `roles.<r>.collect`)
        "roles": {"app": {"collect": {"include": ["opt/chom"], "exclude": ["*/cache"]}}},
        **extra,
    }
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def ssh_config_file(sshd: Sshd, hosts_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cfg")
    return write_config(
        d / "chom-validate.yaml",
        sshd,
        {"landsraad": hosts_root / "landsraad", "mentat": hosts_root / "mentat"},
    )
