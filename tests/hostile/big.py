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
