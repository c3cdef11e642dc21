"""Templates rendered as the deploying scripts render them (facts/templates/), seen by the checks.

Each case writes a small tree, scans it in-process and asserts on the checks' results for the
rendered artifact: values substituted by sed / sed -i on a copy / envsubst / make / heredoc
interpolation, assumed samples that say so, and Jinja control flow that stays unknown. promtool is
the oracle for a rendered Prometheus config.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from chom_validate.artifacts.discover import discover
from chom_validate.config import Config
from chom_validate.engine import RunOptions, ScanContext
from chom_validate.facts.templates import Rendering, render_templates, sample_value
from chom_validate.findings import Status
from chom_validate.targets.local import LocalTree

from .conftest import findings, scan_tree
from .conftest import write_tree as _tree

UNIT_TMPL = """[Unit]
Description=x exporter
[Service]
User=@USER@
ExecStart=/usr/local/bin/x --web.listen-address=:{{PORT}}
Restart={{RESTART}}
RestartSec=5
"""



def _render(root: Path) -> tuple[ScanContext, list[Rendering]]:
    t = LocalTree(root)
    t.prepare([], [])
    ctx = ScanContext(target=t, config=Config(), index=discover(t), options=RunOptions())
    return ctx, render_templates(ctx)


def test_sed_renders_template_with_script_values(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "deploy.sh": "#!/bin/bash\nset -euo pipefail\nPORT=9100\nAPP_USER=exporter\nMODE=on-failure\n"
            'sed -e \'s|{{PORT}}|\'"$PORT"\'|g\' -e "s/@USER@/$APP_USER/" -e "s/{{RESTART}}/$MODE/" '
            "tpl/x.service.tmpl > /etc/systemd/system/x.service\n",
            "tpl/x.service.tmpl": UNIT_TMPL,
        },
    )
    ctx, rs = _render(root)
    (r,) = rs
    assert (r.how, r.site, r.install_path, r.kind) == (
        "sed",
        "deploy.sh:6",
        "/etc/systemd/system/x.service",
        "systemd_unit",
    )
    assert {v.name: v.value for v in r.values} == {
        "PORT": "9100",
        "USER": "exporter",
        "RESTART": "on-failure",
    }
    assert not r.assumed
    assert "User=exporter" in r.text and "listen-address=:9100" in r.text
    # the rendered unit replaces the template in the index: checks see the values
    (unit,) = ctx.artifacts("systemd_unit")
    assert unit.parsed.last("Service", "Restart").value == "on-failure"
    rep = scan_tree(root, only=["SYS001", "SYS003"])
    (restart,) = findings(rep, "SYS001", Status.PASS)
    assert "rendered by deploy.sh:6" in restart.message
    assert restart.evidence[0].path == "tpl/x.service.tmpl" and restart.evidence[0].line == 6
    (user,) = findings(rep, "SYS003")
    assert user.status == Status.PASS and "exporter" in user.message


def test_sed_with_a_failing_value_fails_at_the_template_line(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "deploy.sh": "#!/bin/bash\nRESTART_MODE=no\ncp tpl/x.service.tmpl /etc/systemd/system/x.service\n"
            'sed -i "s/{{RESTART}}/$RESTART_MODE/; s/{{PORT}}/9100/; s/@USER@/x/" /etc/systemd/system/x.service\n',
            "tpl/x.service.tmpl": UNIT_TMPL,
        },
    )
    _, (r,) = _render(root)
    assert r.how == "sed -i" and r.install_path == "/etc/systemd/system/x.service"
    rep = scan_tree(root, only=["SYS001"])
    (f,) = findings(rep, "SYS001", Status.FAIL)
    assert f.evidence[0].path == "tpl/x.service.tmpl" and f.evidence[0].line == 6
    assert "Restart=no" in f.message and "deploy.sh:4" in f.message


def test_envsubst_unknown_value_is_assumed_and_says_so(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "deploy.sh": "#!/bin/bash\nread -r -p 'port: ' LISTEN\nexport SERVER=example.org\n"
            "envsubst '$LISTEN $SERVER' < site.conf.template > /etc/nginx/sites-available/site\n",
            "site.conf.template": "server {\n    listen ${LISTEN};\n    server_name ${SERVER};\n"
            "    root $document_root;\n    location / { proxy_pass http://127.0.0.1:9000; }\n}\n",
        },
    )
    ctx, (r,) = _render(root)
    assert r.how == "envsubst" and r.kind == "nginx_site"
    vals = {v.name: (v.value, v.assumed) for v in r.values}
    assert vals == {"LISTEN": (sample_value("LISTEN"), True), "SERVER": ("example.org", False)}
    assert "$document_root" in r.text  # not in the SHELL-FORMAT: left for nginx
    (site,) = ctx.artifacts("nginx_site")
    assert "assumed LISTEN" in site.label
    ev = site.evidence(2)
    assert ev.note and "assumed value(s) LISTEN=" in ev.note and "rendered by deploy.sh:4" in ev.note
    assert "rendered by" in (site.evidence(3).note or "") and "assumed" not in (site.evidence(3).note or "")


def test_heredoc_interpolates_known_constants(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "deploy.sh": "#!/bin/bash\nAPP_USER=svc\nread -r PORT\n"
            "cat > /etc/systemd/system/y.service <<EOF\n[Unit]\nDescription=y\n[Service]\nUser=$APP_USER\n"
            "ExecStart=/usr/bin/y --port $PORT\nRestart=on-failure\nEOF\n",
        },
    )
    ctx, _ = _render(root)
    (unit,) = ctx.artifacts("systemd_unit")
    assert "User=svc" in unit.text
    assert "--port $PORT" in unit.text  # read from input: never a constant
    assert unit.templated  # something stays unknown
    (user,) = findings(scan_tree(root, only=["SYS003"]), "SYS003")
    assert user.status == Status.PASS and "svc" in user.message


def test_jinja_defaults_and_assumed_samples(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "roles/w/templates/w.service.j2": "[Unit]\nDescription=w\n[Service]\nUser={{ w_user }}\n"
            "ExecStart=/usr/bin/w --listen {{ listen_port | default('9200') }}\n",
        },
    )
    _ctx, (r,) = _render(root)
    assert r.how == "assumed" and r.site is None
    vals = {v.name: (v.value, v.source) for v in r.values}
    assert vals == {"w_user": ("sample", "assumed"), "listen_port": ("9200", "template default")}
    rep = scan_tree(root, only=["SYS001"])
    (f,) = findings(rep, "SYS001", Status.FAIL)  # no Restart=: true whatever the values
    assert "assumed w_user" in f.message


def test_jinja_control_flow_stays_unknown(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "z.service.j2": "[Unit]\nDescription=z\n[Service]\n{% if user %}\nUser={{ user }}\n{% endif %}\n"
            "ExecStart=/usr/bin/z\n",
        },
    )
    _, (r,) = _render(root)
    assert r.how == "unknown" and r.unknown and "{% if %} at line 4" in r.unknown
    rep = scan_tree(root, only=["SYS001", "SYS003", "SYS005", "TGT002"])
    for cid in ("SYS001", "SYS003", "SYS005"):
        assert all(f.status in (Status.NOT_APPLICABLE, Status.ERROR) for f in findings(rep, cid)), cid
    (t,) = [f for f in findings(rep, "TGT002") if f.status != Status.PASS]
    assert t.status == Status.NOT_APPLICABLE and "cannot be rendered" in t.message


def test_makefile_pattern_rule_renders_every_file_holding_the_placeholder(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "Makefile": "PREFIX ?= /usr/local\nINSTALL_PREFIX := $(PREFIX)\n\n$(BUILD)/% : %\n"
            "\tcp $< $@\n\tsed -i.bak -e 's|{{ INSTALL_PREFIX }}|$(INSTALL_PREFIX)|g' $@; rm $@.bak\n",
            "lib/systemd/b.service": "[Service]\nExecStart={{ INSTALL_PREFIX }}/bin/b\nRestart=on-failure\n",
            "etc/cron.d/b": "@daily root {{ INSTALL_PREFIX }}/bin/b\n",
        },
    )
    ctx, rs = _render(root)
    assert sorted(r.template.path for r in rs) == ["etc/cron.d/b", "lib/systemd/b.service"]
    assert all(r.site == "Makefile:6" and r.how == "make sed" for r in rs)
    (unit,) = ctx.artifacts("systemd_unit")
    assert unit.parsed.last("Service", "ExecStart").value == "/usr/local/bin/b"
    (abs_exec,) = findings(scan_tree(root, only=["SYS005"]), "SYS005")
    assert abs_exec.status == Status.PASS


PROM_TMPL = """global:
  scrape_interval: {{ SCRAPE_INTERVAL }}
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['{{ NODE_ADDR }}:9100']
"""


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)"
)
@pytest.mark.parametrize(("interval", "valid"), [("15s", True), ("15 seconds", False)])
def test_rendered_prometheus_config_agrees_with_promtool(tmp_path: Path, interval: str, valid: bool) -> None:
    root = _tree(
        tmp_path / "tree",
        {
            "deploy.sh": f"#!/bin/bash\nINTERVAL='{interval}'\nNODE=10.0.0.5\n"
            'sed -e "s/{{ SCRAPE_INTERVAL }}/$INTERVAL/" -e "s/{{ NODE_ADDR }}/$NODE/" '
            "prometheus.yml.tmpl > /etc/prometheus/prometheus.yml\n",
            "prometheus.yml.tmpl": PROM_TMPL,
        },
    )
    _, (r,) = _render(root)
    assert r.kind == "prometheus_config"
    out = tmp_path / "prometheus.yml"
    out.write_text(r.text)
    oracle = subprocess.run(
        ["promtool", "check", "config", "--syntax-only", str(out)], capture_output=True, text=True, timeout=60
    )
    (mon,) = [
        f for f in findings(scan_tree(root, only=["MON002"]), "MON002") if f.status != Status.NOT_APPLICABLE
    ]
    assert (oracle.returncode == 0) is valid
    assert (mon.status == Status.PASS) is valid, mon.message
    assert "rendered by deploy.sh:4" in mon.message


def test_sample_values_are_neutral_and_secrets_stay_references() -> None:
    assert sample_value("LISTEN_PORT") == "8080"
    assert sample_value("db_password") == "${DB_PASSWORD}"
    assert sample_value("BIND_ADDR") == "192.0.2.10"
    assert sample_value("anything") == "sample"


def test_generated_unit_without_a_line_points_at_the_line_that_writes_it(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "deploy.sh": "#!/bin/bash\nset -e\n\ncat > /etc/systemd/system/q.service <<'EOF'\n[Service]\n"
            "ExecStart=/usr/bin/q\nEOF\n",
        },
    )
    ctx, _ = _render(root)
    (unit,) = ctx.artifacts("systemd_unit")
    ev = unit.evidence()
    assert (ev.path, ev.line) == ("deploy.sh", 4)
    assert ev.excerpt == "cat > /etc/systemd/system/q.service <<'EOF'"
    assert unit.evidence(2).line == 6  # a body line still maps into the script


def test_a_verdict_resting_on_an_assumed_value_is_not_judged(tmp_path: Path) -> None:
    root = _tree(
        tmp_path, {"u/x.service.j2": "[Service]\nExecStart={{ binary }} --serve\nRestart=on-failure\n"}
    )
    rep = scan_tree(root, only=["SYS005"])
    (f,) = findings(rep, "SYS005")
    # `sample` is not an absolute path, but nobody chose it: no fail, and the message says why
    assert f.status == Status.NOT_APPLICABLE
    assert "not judged: rests on assumed value(s) binary=sample" in f.message
