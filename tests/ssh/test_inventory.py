"""Host resolution from chom-validate.yaml, Ansible inventories (INI, YAML) and ssh_config."""

from __future__ import annotations

from pathlib import Path

import pytest

from chom_validate.cli.common import ScanArgs
from chom_validate.config import Config, ConfigError, HostConfig
from chom_validate.targets.inventory import host_target_specs, load_inventory, load_ssh_config, resolve_params

INI = """\
[monitoring]
mentat ansible_host=51.254.139.78 ansible_user=deploy

[app]
landsraad ansible_host=51.77.150.96 ansible_port=2222 ansible_ssh_private_key_file=~/.ssh/chom
web[01:03].example.com

[production:children]
monitoring
app

[production:vars]
ansible_user=ops
"""

YAML = """\
all:
  children:
    monitoring:
      hosts:
        mentat:
          ansible_host: 51.254.139.78
    app:
      vars:
        ansible_user: deploy
      hosts:
        landsraad:
          ansible_host: 51.77.150.96
          ansible_port: 2222
"""


def test_ini_inventory(tmp_path: Path) -> None:
    f = tmp_path / "hosts.ini"
    f.write_text(INI)
    inv = load_inventory(f)
    assert set(inv.hosts) == {
        "mentat",
        "landsraad",
        "web01.example.com",
        "web02.example.com",
        "web03.example.com",
    }
    assert inv.hosts["mentat"].vars["ansible_user"] == "deploy"  # host var beats group var
    assert inv.hosts["landsraad"].vars["ansible_user"] == "ops"
    assert set(inv.hosts["landsraad"].groups) == {"app", "production"}
    p = resolve_params("landsraad", Config(), inv, None, ScanArgs())
    assert (p.hostname, p.port, p.user) == ("51.77.150.96", 2222, "ops")
    assert p.identity_files[0].endswith("/.ssh/chom") and "app" in p.roles


def test_yaml_inventory_and_groups(tmp_path: Path) -> None:
    f = tmp_path / "hosts.yml"
    f.write_text(YAML)
    specs = host_target_specs(ScanArgs(inventory=f, host_groups=["app"]), Config())
    assert [s.name for s in specs] == ["landsraad"]
    specs = host_target_specs(ScanArgs(inventory=f, host_groups=["all"]), Config())
    assert {s.name for s in specs} == {"mentat", "landsraad"}
    with pytest.raises(ConfigError, match="known: all, app, monitoring"):
        host_target_specs(ScanArgs(inventory=f, host_groups=["db"]), Config())


def test_config_wins_and_ssh_config_fills_in(tmp_path: Path) -> None:
    sc = tmp_path / "ssh_config"
    sc.write_text(
        "Host landsraad\n  HostName landsraad.arewel.com\n  User admin\n  Port 2200\n"
        "  IdentityFile ~/.ssh/landsraad\n  ProxyJump jump@bastion:2022\n"
        "Host bastion\n  HostName bastion.arewel.com\n"
    )
    cfg = Config(hosts={"landsraad": HostConfig(user="deploy", roles=["app"], path_prefix="/srv/root")})
    p = resolve_params("landsraad", cfg, None, load_ssh_config(sc), ScanArgs())
    assert (p.hostname, p.port, p.user, p.path_prefix) == (
        "landsraad.arewel.com",
        2200,
        "deploy",
        "/srv/root",
    )
    assert p.identity_files[0].endswith("/.ssh/landsraad")
    assert p.proxy_jump is not None
    assert (p.proxy_jump.hostname, p.proxy_jump.user, p.proxy_jump.port) == (
        "bastion.arewel.com",
        "jump",
        2022,
    )
    specs = host_target_specs(ScanArgs(host_groups=["app"], ssh_config=sc), cfg)
    assert [s.name for s in specs] == ["landsraad"] and specs[0].kind == "ssh"
