"""Discovery by content, including artifacts written by heredocs inside scripts."""

from __future__ import annotations

from pathlib import Path

from chom_validate.artifacts import discover
from chom_validate.findings import Status
from chom_validate.targets.local import LocalTree

from .conftest import findings, scan_tree

SCRIPT = """#!/usr/bin/env bash
set -euo pipefail
install_unit() {
    cat > /etc/systemd/system/redis_exporter.service <<'EOF'
[Unit]
Description=Redis Exporter
After=network.target

[Service]
User=root
ExecStart=/usr/local/bin/redis_exporter --web.listen-address=:9121
EOF
    sudo tee /etc/prometheus/rules/redis.yml >/dev/null <<EOF
groups:
  - name: redis
    rules:
      - alert: RedisDown
        expr: redis_up == 0
EOF
}
install_unit
"""


def test_kinds_by_content_not_by_path(tmp_path: Path) -> None:
    (tmp_path / "weird").mkdir()
    (tmp_path / "weird" / "prom.yaml").write_text("global:\n  scrape_interval: 15s\nscrape_configs: []\n")
    (tmp_path / "weird" / "alerts.yaml").write_text(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n"
    )
    (tmp_path / "weird" / "am.yml").write_text("route:\n  receiver: x\nreceivers:\n- name: x\n")
    (tmp_path / "weird" / "x.service").write_text("[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n")
    (tmp_path / "weird" / "runme").write_text("#!/bin/sh\necho hi\n")
    (tmp_path / "weird" / "site").write_text("server {\n  listen 443 ssl;\n  server_name x;\n}\n")
    idx = discover(LocalTree(tmp_path))
    kinds = {a.path: a.kind for a in idx.artifacts}
    assert kinds == {
        "weird/prom.yaml": "prometheus_config",
        "weird/alerts.yaml": "prometheus_rules",
        "weird/am.yml": "alertmanager_config",
        "weird/x.service": "systemd_unit",
        "weird/runme": "shell",
        "weird/site": "nginx_site",
    }


def test_heredoc_artifacts_map_lines_into_the_script(tmp_path: Path) -> None:
    (tmp_path / "install.sh").write_text(SCRIPT)
    idx = discover(LocalTree(tmp_path))
    unit = next(a for a in idx.artifacts if a.kind == "systemd_unit")
    assert unit.install_path == "/etc/systemd/system/redis_exporter.service"
    assert unit.path == "install.sh" and unit.parent is not None
    assert unit.line_text(6) == "User=root"
    assert unit.evidence(6).line == 10  # line 10 of install.sh
    rules = next(a for a in idx.artifacts if a.kind == "prometheus_rules")
    assert rules.install_path == "/etc/prometheus/rules/redis.yml"
    rep = scan_tree(tmp_path)
    user = findings(rep, "SYS003", Status.FAIL)
    assert user and user[0].evidence[0].path == "install.sh" and user[0].evidence[0].line == 10
    mon = findings(rep, "MON001", Status.FAIL)
    assert mon and mon[0].evidence[0].line == 17


def test_broken_yaml_is_reported_with_line(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(
        "groups:\n  - name: g\n    rules:\n      - alert: X\n        expr: [up\n"
    )
    rep = scan_tree(tmp_path)
    errs = findings(rep, "TGT002", Status.ERROR)
    assert errs and errs[0].evidence[0].path == "rules.yml" and errs[0].evidence[0].line
    assert "invalid YAML" in errs[0].message


def test_templated_yaml_is_unknown_not_error(tmp_path: Path) -> None:
    (tmp_path / "prometheus.yml.j2").write_text(
        "global:\n  scrape_interval: {{ interval }}\nscrape_configs:\n{% for j in jobs %}\n  - job_name: {{ j }}\n{% endfor %}\n"
    )
    rep = scan_tree(tmp_path)
    assert not findings(rep, "TGT002", Status.ERROR)
