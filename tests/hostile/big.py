"""Realistic 5 MB inputs of the kinds the issue names (shell script, alert rules, Grafana dashboard).

Each is built from the shapes real trees hold, repeated with varying names until the size is
reached, so parsing cost is measured on content the parsers and checks really analyse.
"""

from __future__ import annotations

import json

SIZE = 5_000_000  # under the default 5 MiB file cap (5_242_880): analysed, not refused


def shell_script(size: int = SIZE) -> str:
    head = "#!/bin/bash\nset -euo pipefail\nLOG=/var/log/deploy.log\n"
    out, n, i = [head], len(head), 0
    while n < size:
        block = (
            f"deploy_{i}() {{\n"
            f'  local dir="/opt/app{i}"\n'
            f'  if [ -d "$dir" ]; then\n'
            f'    rsync -a --delete ./build/ "$dir/" && echo "synced {i}" >> "$LOG"\n'
            f"  else\n"
            f'    mkdir -p "$dir" || exit 1\n'
            f"  fi\n"
            f"  cat > /etc/systemd/system/app{i}.service <<EOF\n"
            f"[Unit]\nDescription=app {i}\n[Service]\nExecStart=/opt/app{i}/bin/server --port {8000 + i % 1000}\n"
            f"Restart=always\nEOF\n"
            f"  systemctl daemon-reload\n"
            f"  systemctl restart app{i} || true\n"
            f'  for f in "$dir"/*.conf; do grep -q "^port" "$f" | sort | uniq; done\n'
            f"  curl -fsS http://127.0.0.1:{8000 + i % 1000}/health >/dev/null\n"
            f"}}\n"
            f"deploy_{i}\n"
        )
        out.append(block)
        n += len(block)
        i += 1
    text = "".join(out)
    return text[: text.rfind("\ndeploy_", 0, size - 1) + 1] if n > size else text  # whole blocks only


def alert_rules(size: int = SIZE) -> str:
    out, n, i = ["groups:\n"], 8, 0
    while n < size:
        block = (
            f"- name: service-{i}\n"
            f"  rules:\n"
            f"  - alert: HighErrorRate{i}\n"
            f'    expr: sum by (instance) (rate(http_requests_total{{job="app{i}",code=~"5.."}}[5m]))'
            f' / sum by (instance) (rate(http_requests_total{{job="app{i}"}}[5m])) > 0.05\n'
            f"    for: 10m\n"
            f"    labels:\n"
            f"      severity: critical\n"
            f"    annotations:\n"
            f"      summary: High error rate on {{{{ $labels.instance }}}}\n"
            f"      runbook_url: https://runbooks.example.com/app{i}\n"
            f"  - record: job:http_requests:rate5m_{i}\n"
            f'    expr: sum by (job) (rate(http_requests_total{{job="app{i}"}}[5m]))\n'
        )
        out.append(block)
        n += len(block)
        i += 1
    text = "".join(out)
    return text[: text.rfind("- name: ", 0, size)]  # whole groups only


def dashboard(size: int = SIZE) -> str:
    """Pretty-printed (indent 2, as Grafana exports), panels appended until the size is reached."""
    panels = []
    n, i = 200, 0
    while n < size:
        p = {
            "id": i,
            "type": "timeseries",
            "title": f"Requests {i}",
            "datasource": {"type": "prometheus", "uid": "prom"},
            "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": i * 8},
            "targets": [
                {"expr": f'sum(rate(http_requests_total{{job="app{i}"}}[5m]))', "refId": "A"},
                {"expr": f'histogram_quantile(0.99, sum by (le) (rate(latency_bucket{{job="app{i}"}}[5m])))', "refId": "B"},
            ],
        }
        panels.append(p)
        n += len(json.dumps(p, indent=2)) + 8
        i += 1
    doc = {
        "title": "Fleet",
        "uid": "fleet",
        "templating": {"list": [{"name": "job", "datasource": {"uid": "prom"}}]},
        "panels": panels,
    }
    text = json.dumps(doc, indent=2)
    while len(text) >= size:  # nested panels indent deeper than the estimate: trim proportionally
        del panels[max(1, int(len(panels) * (size - 100) / len(text))) :]
        text = json.dumps(doc, indent=2)
    return text + "\n"


def _fill(head: str, block, size: int, tail: str = "") -> str:  # type: ignore[no-untyped-def]
    """``head`` + ``block(i)`` for i = 0, 1, ... while the whole stays under ``size`` bytes."""
    out, n, i = [head], len(head) + len(tail), 0
    while True:
        b = block(i)
        if n + len(b) > size:
            break
        out.append(b)
        n += len(b)
        i += 1
    out.append(tail)
    return "".join(out)


def one_line_script(size: int = SIZE) -> str:
    """A deploy script minified onto one line (commands joined by ``;`` and ``&&``)."""
    return _fill(
        "#!/bin/bash\nset -eu; ",
        lambda i: (
            f'mkdir -p "/opt/app{i}" && rsync -a ./build/ "/opt/app{i}/"; '
            f"systemctl restart app{i} || true; "
        ),
        size,
        "echo done\n",
    )


def failing_rules(size: int = SIZE) -> str:
    """Alert rules that each fail the same per-rule checks (no ``for``, no runbook, no summary,
    an unanchored regex matcher): thousands of failing locations of a few root causes."""
    return _fill(
        "groups:\n",
        lambda i: (
            f"- name: svc-{i}\n"
            f"  rules:\n"
            f"  - alert: Down{i}\n"
            f'    expr: up{{job=~"app{i}.*"}} == 0\n'
            f"  - alert: Errors{i}\n"
            f'    expr: rate(errors_total{{job="app{i}"}}[1m]) > 0\n'
            f"    labels:\n"
            f"      severity: page\n"
        ),
        size,
    )


def runbook(size: int = SIZE) -> str:
    """A Markdown runbook: a section per service with steps, commands and a table."""
    return _fill(
        "# Operations runbook\n\nOwner: platform team. Escalation: #oncall.\n\n",
        lambda i: (
            f"## Service app{i}\n\n"
            f"### Restart\n\n"
            f"1. Check the health endpoint: `curl -fsS http://127.0.0.1:{8000 + i % 1000}/health`.\n"
            f"2. Restart the unit:\n\n"
            f"   ```bash\n   sudo systemctl restart app{i}\n   journalctl -u app{i} -n 50\n   ```\n\n"
            f"3. If it keeps failing, roll back to the previous release (see *Rollback*).\n\n"
            f"### Rollback\n\n"
            f"| step | command | expected |\n|---|---|---|\n"
            f"| stop | `systemctl stop app{i}` | inactive |\n"
            f"| restore | `rsync -a /opt/releases/app{i}/prev/ /opt/app{i}/` | files restored |\n"
            f"| start | `systemctl start app{i}` | active |\n\n"
            f"### Backups\n\nBackups of app{i} run nightly; restore with `restic restore latest "
            f"--target /srv/app{i}` and verify with `restic check`. RTO 1 h, RPO 24 h.\n\n"
        ),
        size,
    )


def nginx_conf(size: int = SIZE) -> str:
    """An nginx configuration with a server block per site."""
    return _fill(
        "user www-data;\nworker_processes auto;\nevents { worker_connections 1024; }\nhttp {\n",
        lambda i: (
            f"  server {{\n"
            f"    listen 443 ssl;\n"
            f"    server_name app{i}.example.com;\n"
            f"    ssl_certificate /etc/ssl/app{i}.pem;\n"
            f"    ssl_certificate_key /etc/ssl/private/app{i}.key;\n"
            f"    location / {{\n"
            f"      proxy_pass http://127.0.0.1:{8000 + i % 1000};\n"
            f"      proxy_set_header Host $host;\n"
            f"      proxy_read_timeout 30s;\n"
            f"    }}\n"
            f"    location /static/ {{ root /srv/app{i}; expires 7d; }}\n"
            f"  }}\n"
        ),
        size,
        "}\n",
    )


def systemd_unit(size: int = SIZE) -> str:
    """A (generated) unit with a very long [Service] section: environment and pre-start steps."""
    return _fill(
        "[Unit]\nDescription=Fleet agent\nAfter=network-online.target\nWants=network-online.target\n\n"
        "[Service]\nType=simple\nUser=agent\nExecStart=/usr/local/bin/agent --config /etc/agent.yml\n"
        "Restart=on-failure\n",
        lambda i: (
            f"Environment=APP{i}_PORT={8000 + i % 1000} APP{i}_HOME=/opt/app{i}\n"
            f"ExecStartPre=/usr/bin/test -d /opt/app{i}\n"
        ),
        size,
        "\n[Install]\nWantedBy=multi-user.target\n",
    )


def crontab(size: int = SIZE) -> str:
    """A system crontab (``/etc/cron.d`` format, with a user column) with a job per service."""
    return _fill(
        "SHELL=/bin/bash\nPATH=/usr/local/bin:/usr/bin:/bin\nMAILTO=ops@example.com\n",
        lambda i: (
            f"{i % 60} {i % 24} * * * root /usr/local/bin/backup-app{i} >> /var/log/backup-app{i}.log 2>&1\n"
        ),
        size,
    )


def dotenv(size: int = SIZE) -> str:
    """A ``.env`` with a block of settings per service, a password among them (a secret per block:
    thousands of locations of one root cause)."""
    return _fill(
        "# generated\nAPP_ENV=production\n",
        lambda i: (
            f"APP{i}_HOST=app{i}.internal\n"
            f"APP{i}_PORT={8000 + i % 1000}\n"
            f"APP{i}_DB_PASSWORD=Zq{i:06d}xK9wPm3vLt7\n"
        ),
        size,
    )
