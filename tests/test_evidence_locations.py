"""A "missing X" result points where the fix belongs, or at the file with no line: never line 1.

Line 1 of a script is its shebang, of a rule file a comment or `groups:`; pointing there says
nothing. Each case below is a small tree; the assertion is the exact (path, line) list of the
failing result's evidence: the strict-mode line or the first command of a script for script-wide
settings, the command that writes a backup for its missing verification/encryption/off-site step,
the `[Service]`/`[Unit]` header of a unit (also inside a heredoc, mapped into the script), the
`groups:` key of a rule file, and ``None`` for a file that lacks a thing entirely.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chom_validate.artifacts import Artifact
from chom_validate.facts.anchors import first_code_line, script_setup, strict_mode_line, top_key_line

from .conftest import scan_tree
from .conftest import write_tree as _tree


def _fails(root: Path, check_id: str) -> list[list[tuple[str, int | None]]]:
    report = scan_tree(root, only=[check_id])
    return [
        [(e.path, e.line) for e in f.evidence]
        for f in report.findings
        if f.check_id == check_id and f.status.value == "fail"
    ]


DEPLOY_NO_SET = """#!/usr/bin/env bash
# Deploy the app.
# usage: deploy.sh RELEASE

RELEASE=/var/www/releases/$1
git clone https://git.example.com/app.git "$RELEASE"
cd "$RELEASE" && composer install --no-dev
php artisan migrate --force
ln -sfn "$RELEASE" /var/www/current
systemctl reload php8.2-fpm
"""

DEPLOY_SET = """#!/usr/bin/env bash
# Deploy the app.
set -euo pipefail
echo "Pulling release"
git -C /opt/app pull --ff-only
systemctl restart app
"""

BACKUP = """#!/bin/bash
# Nightly dump of the application database.
set -euo pipefail
DIR=/var/backups
mysqldump --defaults-extra-file=/root/.my.cnf --single-transaction chom | gzip > "$DIR/chom.sql.gz"
tar czf "$DIR/www.tar.gz" /var/www/html
"""

UNIT = """[Unit]
Description=exporter
After=network.target

[Service]
ExecStart=/usr/local/bin/redis_exporter
Restart=on-failure

[Install]
WantedBy=multi-user.target
"""

HEREDOC_UNIT = """#!/bin/bash
set -euo pipefail
cat > /etc/systemd/system/queue.service <<EOF
[Unit]
Description=queue worker

[Service]
ExecStart=/usr/bin/php /var/www/artisan queue:work
Restart=always
EOF
systemctl enable --now queue.service
"""


CASES = [
    # strict mode missing entirely: it belongs before the first command (line 5), not the shebang
    ("DEP001", {"deploy.sh": DEPLOY_NO_SET}, [[("deploy.sh", 5)]]),
    # script-wide setup (lock, log file) belongs after the strict-mode line
    ("DEP004", {"deploy.sh": DEPLOY_SET}, [[("deploy.sh", 3)]]),
    ("DEP003", {"backup/backup-db.sh": BACKUP}, [[("backup/backup-db.sh", 3)]]),
    # the backup commands are where verification and encryption belong; scheduling is file-wide
    ("BAK004", {"backup/backup-db.sh": BACKUP}, [[("backup/backup-db.sh", 5), ("backup/backup-db.sh", 6)]]),
    ("BAK006", {"backup/backup-db.sh": BACKUP}, [[("backup/backup-db.sh", 5), ("backup/backup-db.sh", 6)]]),
    ("BAK005", {"backup/backup-db.sh": BACKUP}, [[("backup/backup-db.sh", 6)]]),
    ("BAK001", {"backup/backup-db.sh": BACKUP}, [[("backup/backup-db.sh", None)]]),
    # a unit without limits: its [Service] header (line 5), in a file and inside a heredoc (line 7
    # of the script: the heredoc body starts at line 4)
    ("SYS006", {"systemd/redis_exporter.service": UNIT}, [[("systemd/redis_exporter.service", 5)]]),
    ("SYS006", {"deploy/install.sh": HEREDOC_UNIT}, [[("deploy/install.sh", 7)]]),
    # documents that lack a section entirely: the file, no line
    (
        "DR003",
        {"docs/DISASTER_RECOVERY.md": "# Disaster recovery\n\nRestore from the nightly dump.\n"},
        [[("docs/DISASTER_RECOVERY.md", None)]],
    ),
]


@pytest.mark.parametrize(
    ("check_id", "files", "want"), CASES, ids=[f"{c}-{next(iter(f))}" for c, f, _ in CASES]
)
def test_missing_setting_points_where_the_fix_goes(
    tmp_path: Path, check_id: str, files: dict[str, str], want: list[list[tuple[str, int | None]]]
) -> None:
    got = _fails(_tree(tmp_path, files), check_id)
    assert got == want


def test_alert_missing_points_at_groups_and_scrape_configs(tmp_path: Path) -> None:
    """MON027 on a config that sends alerts but watches no delivery: the rule file's `groups:`
    (line 3, under its header comments) and the `scrape_configs:` that lacks an Alertmanager job."""
    root = _tree(
        tmp_path,
        {
            "prometheus/prometheus.yml": (
                "global:\n  scrape_interval: 15s\n"
                "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['am.example:9093']\n"
                "rule_files:\n  - rules/*.yml\n"
                "scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['n.example:9100']\n"
            ),
            "prometheus/rules/node.yml": (
                "# Node alerts.\n# Owned by the platform team.\ngroups:\n  - name: node\n    rules:\n"
                "      - alert: NodeDown\n        expr: up == 0\n        for: 5m\n"
                "        labels:\n          severity: critical\n"
            ),
        },
    )
    (locs,) = _fails(root, "MON027")
    assert ("prometheus/rules/node.yml", 3) in locs
    assert ("prometheus/prometheus.yml", 9) in locs  # scrape_configs:
    assert ("prometheus/prometheus.yml", 3) in locs  # alerting:
    assert not any(line == 1 for _, line in locs)


def _art(text: str) -> Artifact:
    return Artifact(path="x.sh", kind="shell", text=text, digest="0")


def test_anchor_helpers() -> None:
    assert first_code_line(_art("#!/bin/sh\n\n# c\n  x=1\n")) == 4
    assert first_code_line(_art("#!/bin/sh\n# only comments\n")) is None
    assert strict_mode_line(_art("#!/bin/bash\nset -o errexit\n")) == 2
    assert strict_mode_line(_art("#!/bin/bash\nset -x\nset -eu\n")) == 3
    assert script_setup(_art("#!/bin/bash\n# c\nset -euo pipefail\nrun\n"))[0] == 3
    assert script_setup(_art("#!/bin/bash\n# c\nrun\n"))[0] == 3
    assert script_setup(_art("#!/bin/bash\n")) == (None, "")
    rules = Artifact(path="r.yml", kind="prometheus_rules", text="# c\ngroups:\n  - name: a\n", digest="0")
    assert top_key_line(rules, "groups") == 2
    assert top_key_line(rules, "route") is None


def test_unloaded_rule_file_points_at_rule_files(tmp_path: Path) -> None:
    """MON004: a rule file no pattern loads is the file as a whole (no line); the fix belongs in
    the config's `rule_files:` (line 3)."""
    root = _tree(
        tmp_path,
        {
            "prometheus/prometheus.yml": "global:\n  scrape_interval: 15s\nrule_files:\n  - alerts/*.yml\n",
            "prometheus/rules/node.yml": "groups:\n  - name: node\n    rules:\n      - alert: A\n        expr: up == 0\n",
        },
    )
    unloaded = [locs for locs in _fails(root, "MON004") if ("prometheus/rules/node.yml", None) in locs]
    assert unloaded == [[("prometheus/rules/node.yml", None), ("prometheus/prometheus.yml", 3)]]


def test_duplicate_dashboard_uid_points_at_the_uid(tmp_path: Path) -> None:
    dash = '{\n  "title": "%s",\n  "panels": [],\n  "uid": "node"\n}\n'
    root = _tree(
        tmp_path,
        {"grafana/dashboards/a/node.json": dash % "Node", "grafana/dashboards/b/copy.json": dash % "Copy"},
    )
    dup = [sorted(locs) for locs in _fails(root, "MON018")]
    assert dup == [[("grafana/dashboards/a/node.json", 4), ("grafana/dashboards/b/copy.json", 4)]]


FIREWALL = """#!/bin/bash
set -euo pipefail
ufw allow 80/tcp
ufw allow 443/tcp
ufw --force enable
"""


def test_firewall_settings_point_at_the_rules(tmp_path: Path) -> None:
    """NET001: no default policy, which belongs before the first rule (line 3); NET002: no SSH
    rule, which must come before `ufw enable` (line 5) or the operators are locked out."""
    root = _tree(tmp_path, {"firewall/setup-firewall.sh": FIREWALL})
    assert _fails(root, "NET001") == [[("firewall/setup-firewall.sh", 3)]]
    assert _fails(root, "NET002") == [[("firewall/setup-firewall.sh", 5)]]
