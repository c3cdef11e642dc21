"""Recognising monitoring files by content, and what compose files say about the monitoring stack."""

from __future__ import annotations

import chom_validate.artifacts  # noqa: F401 - registers the detectors
from chom_validate.artifacts import Artifact
from chom_validate.artifacts.discover import detect_kind, make_candidate
from chom_validate.facts.monitoring import compose_services

RULES = "groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: up == 0\n"


def test_rule_files_are_recognised_whatever_their_extension() -> None:
    assert detect_kind(make_candidate("prometheus/alert.rules", RULES)) == "prometheus_rules"
    assert detect_kind(make_candidate("prometheus/alerts", RULES)) == "prometheus_rules"
    # a document quoting a rule is a document
    assert detect_kind(make_candidate("README.md", "# Alerts\n\n" + RULES)) != "prometheus_rules"


def test_promtail_is_not_a_prometheus_config() -> None:
    promtail = (
        "server: {http_listen_port: 9080}\npositions: {filename: /tmp/positions.yaml}\n"
        "clients: [{url: 'http://loki:3100/loki/api/v1/push'}]\n"
        "scrape_configs: [{job_name: system, static_configs: [{targets: [localhost]}]}]\n"
    )
    assert detect_kind(make_candidate("promtail.yml", promtail)) == "promtail_config"
    prom = "scrape_configs: [{job_name: node, static_configs: [{targets: ['localhost:9100']}]}]\n"
    assert detect_kind(make_candidate("prometheus.yml", prom)) == "prometheus_config"


COMPOSE = """services:
  prometheus:
    image: prom/prometheus:v2.53.0
    command: ['--web.enable-lifecycle', '--web.external-url=https://p.acme.net/']
    ports: ['127.0.0.1:9090:9090', '9091:9091', '[::1]:9092:9092']
  alertmanager:
    image: quay.io/prometheus/alertmanager:v0.27.0
    volumes: ['am:/alertmanager']
  grafana:
    image: grafana/grafana:11.1.0
    environment:
      - GF_SECURITY_ADMIN_PASSWORD=${ADMIN_PASSWORD:-admin}
      - GF_SECURITY_ADMIN_USER=${ADMIN_USER}
"""


def test_compose_services_model() -> None:
    art = Artifact(path="stack/docker-compose.yml", kind="yaml", text=COMPOSE, digest="")
    svc = {s.name: s for s in compose_services([art])}
    p, am, gf = svc["prometheus"], svc["alertmanager"], svc["grafana"]
    assert (p.tool, am.tool, gf.tool) == ("prometheus", "alertmanager", "grafana")
    assert p.flag("--web.enable-lifecycle") is True
    assert p.flag("--web.external-url") == "https://p.acme.net/"
    assert p.flag("--storage.tsdb.path") is None
    assert p.published() == [("0.0.0.0", "9091")]  # loopback bindings stay on the host
    assert am.mounted("/alertmanager") and am.mounted("/alertmanager/nflog") and not am.mounted("/data")
    assert "stack-alertmanager-1" in am.container_names()
    assert gf.effective_env("GF_SECURITY_ADMIN_PASSWORD") == "admin"
    assert gf.effective_env("GF_SECURITY_ADMIN_USER") is None
    assert gf.env_line("GF_SECURITY_ADMIN_PASSWORD") == 12
