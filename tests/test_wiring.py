"""Wiring checks on trees: SYS027 (unit names that cannot exist), SYS028 (unit-run scripts with
fixed /tmp names), MON031 (node_exporter containers that cannot see the host filesystems).
Bad variants are shaped like the audited defects; the careful variants pass."""

from __future__ import annotations

import json
from pathlib import Path

from chom_validate.findings import Status

from .conftest import findings, scan_tree
from .conftest import write_tree as _tree


def _fails(root: Path, cid: str) -> list[tuple[str | None, int | None]]:
    return [
        (e.path, e.line) for f in findings(scan_tree(root, only=[cid]), cid, Status.FAIL) for e in f.evidence
    ]


def _statuses(root: Path, cid: str) -> set[Status]:
    return {f.status for f in findings(scan_tree(root, only=[cid]), cid)}


CHECK_UNIT = (
    "[Unit]\nDescription=check %i\n{dep}\n\n[Service]\nType=oneshot\nExecStart=/usr/local/bin/check.sh %i\n"
)
BACKUP_TMPL = (
    "[Unit]\nDescription=backup %i\n\n[Service]\nType=oneshot\nExecStart=/usr/local/bin/backup.sh %i\n"
)


def test_sys027_plain_name_of_a_template(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "units/restic-backup@.service": BACKUP_TMPL,
            "units/restic-check@.service": CHECK_UNIT.format(
                dep="Conflicts=restic-backup.service\nOnFailure=status-mail@%n.service"
            ),
            "units/status-mail@.service": "[Unit]\nDescription=mail\n\n[Service]\nExecStart=/bin/true\n",
        },
    )
    got = findings(scan_tree(root, only=["SYS027"]), "SYS027", Status.FAIL)
    assert len(got) == 1, [f.message for f in got]
    sides = {(e.path, e.line) for e in got[0].evidence}
    # the unit side at its Conflicts= line, the template side as a whole file (no line)
    assert ("units/restic-check@.service", 3) in sides and ("units/restic-backup@.service", None) in sides


def test_sys027_instances_pass(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "units/restic-backup@.service": BACKUP_TMPL,
            "units/restic-check@.service": CHECK_UNIT.format(dep="Conflicts=restic-backup@%i.service"),
        },
    )
    assert _statuses(root, "SYS027") == {Status.PASS}


MAILER_UNIT = "[Unit]\nDescription=mail %i\n\n[Service]\nType=oneshot\n{extra}ExecStart=/usr/local/bin/unit-mail root %i\n"
MAILER = """#!/bin/bash
SCRIPT_NAME=$(basename "$0")
LAST_RUN_FILE="/tmp/${SCRIPT_NAME}_last_run.txt"
if [ -e "$LAST_RUN_FILE" ]; then exit 1; fi
touch "$LAST_RUN_FILE"
systemctl status "$2" | mail -s "$2 failed" "$1"
"""
SAFE_MAILER = """#!/bin/bash
stamp="${STATE_DIRECTORY:?}/last_run.$2"
tmp=$(mktemp /tmp/unit-mail.XXXXXX)
trap 'rm -f "$tmp"' EXIT
systemctl status "$2" >"$tmp"
mail -s "$2 failed" "$1" <"$tmp" && touch "$stamp"
"""


def test_sys028_fixed_tmp_stamp(tmp_path: Path) -> None:
    root = _tree(
        tmp_path, {"units/unit-mail@.service": MAILER_UNIT.format(extra=""), "bin/unit-mail": MAILER}
    )
    sides = _fails(root, "SYS028")
    assert ("units/unit-mail@.service", 6) in sides and ("bin/unit-mail", 3) in sides


def test_sys028_private_tmp_or_mktemp_pass(tmp_path: Path) -> None:
    a = _tree(
        tmp_path / "a",
        {"units/unit-mail@.service": MAILER_UNIT.format(extra=""), "bin/unit-mail": SAFE_MAILER},
    )
    assert _statuses(a, "SYS028") == {Status.PASS}
    b = _tree(
        tmp_path / "b",
        {"units/unit-mail@.service": MAILER_UNIT.format(extra="PrivateTmp=yes\n"), "bin/unit-mail": MAILER},
    )
    assert _statuses(b, "SYS028") == {Status.PASS}


def _task(command: list[str], mounts: list[dict[str, object]]) -> str:
    return json.dumps(
        {
            "family": "node-exporter",
            "networkMode": "host",
            "containerDefinitions": [
                {
                    "name": "node-exporter",
                    "image": "prom/node-exporter:v1.8.2",
                    "command": command,
                    "mountPoints": mounts,
                    "portMappings": [{"containerPort": 9100, "hostPort": 9100}],
                }
            ],
            "volumes": [{"name": "root", "host": {"sourcePath": "/"}}] if mounts else [],
        },
        indent=2,
    )


COMPOSE_GOOD = """services:
  nodeexporter:
    image: prom/node-exporter:v1.8.2
    volumes:
      - /proc:/host/proc:ro
      - /sys:/host/sys:ro
      - /:/rootfs:ro
    command:
      - '--path.procfs=/host/proc'
      - '--path.rootfs=/rootfs'
      - '--path.sysfs=/host/sys'
"""


def test_mon031_container_without_host_root(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "aws/node_exporter_task_definition.json": _task(["--collector.processes"], []),
            "docker-compose.yml": COMPOSE_GOOD,
        },
    )
    got = findings(scan_tree(root, only=["MON031"]), "MON031", Status.FAIL)
    assert len(got) == 1 and got[0].evidence[0].path == "aws/node_exporter_task_definition.json", [
        (f.message, f.evidence) for f in got
    ]
    assert got[0].evidence[0].line is not None and 3 <= got[0].evidence[0].line <= 10


def test_mon031_host_root_mounted_passes(tmp_path: Path) -> None:
    good_task = _task(
        ["--path.rootfs=/host"], [{"sourceVolume": "root", "containerPath": "/host", "readOnly": True}]
    )
    root = _tree(
        tmp_path, {"aws/node_exporter_task_definition.json": good_task, "docker-compose.yml": COMPOSE_GOOD}
    )
    assert _statuses(root, "MON031") == {Status.PASS}


PLIST = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>org.example.restic-{job}</string>
  <key>ProgramArguments</key>
  <array><string>/usr/local/bin/restic_{job}.sh</string></array>
{load}  <key>StartCalendarInterval</key>
  <array><dict><key>Hour</key><integer>{hour}</integer><key>Minute</key><integer>0</integer>{day}</dict></array>
</dict>
</plist>
"""
RUN_AT_LOAD = "  <key>RunAtLoad</key>\n  <true/>\n"


def _plists(root: Path, check_load: str, check_hour: int) -> Path:
    return _tree(
        root,
        {
            "LaunchAgents/org.example.restic-backup.plist": PLIST.format(
                job="backup", load=RUN_AT_LOAD, hour=19, day=""
            ),
            "LaunchAgents/org.example.restic-check.plist": PLIST.format(
                job="check", load=check_load, hour=check_hour, day="<key>Day</key><integer>1</integer>"
            ),
        },
    )


def test_bak031_both_run_at_load(tmp_path: Path) -> None:
    sides = _fails(_plists(tmp_path, RUN_AT_LOAD, 20), "BAK031")
    assert ("LaunchAgents/org.example.restic-backup.plist", 9) in sides
    assert ("LaunchAgents/org.example.restic-check.plist", 9) in sides


def test_bak031_same_calendar_minute(tmp_path: Path) -> None:
    sides = _fails(_plists(tmp_path, "", 19), "BAK031")  # the 1st of the month at 19:00: both fire
    assert ("LaunchAgents/org.example.restic-check.plist", 9) in sides


def test_bak031_distinct_times_pass(tmp_path: Path) -> None:
    assert _statuses(_plists(tmp_path, "", 20), "BAK031") == {Status.PASS}


CHECKERS = """assert_envvars() {
  for varname in "$@"; do
    if [ -z "${!varname+x}" ]; then echo "$varname must be set" >&2; exit 1; fi
  done
}
warn_on_missing_envvars() {
  for varname in "$@"; do
    [ -z "${!varname}" ] && echo "recommended: $varname" >&2
  done
}
"""


def _restic_scripts(root: Path, check_asserts: str) -> Path:
    return _tree(
        root,
        {
            "bin/restic_backup.sh": "#!/bin/bash\nset -e\n"
            + CHECKERS
            + "assert_envvars \\\n  RESTIC_REPOSITORY\n"
            "warn_on_missing_envvars RESTIC_PASSWORD_FILE\nrestic backup /home\n",
            "bin/restic_check.sh": "#!/bin/bash\nset -e\n" + CHECKERS + f"assert_envvars {check_asserts}\n"
            "restic check --read-data-subset=5%\n",
        },
    )


def test_bak032_sibling_asserts_an_optional_variable(tmp_path: Path) -> None:
    sides = _fails(_restic_scripts(tmp_path, "RESTIC_PASSWORD_FILE RESTIC_REPOSITORY"), "BAK032")
    assert ("bin/restic_check.sh", 13) in sides and ("bin/restic_backup.sh", 15) in sides


def test_bak032_same_requirements_pass(tmp_path: Path) -> None:
    assert _statuses(_restic_scripts(tmp_path, "RESTIC_REPOSITORY"), "BAK032") == {Status.PASS}


JOINED = """#!/bin/bash
set -euo pipefail
latest=$(restic snapshots --latest 2 --compact \\
  | awk '{print $1}' \\
  | tr '\\n' ' ')
count=$(echo "$latest" | wc -l)
if [[ $count -lt 2 ]]; then echo "need 2 snapshots"; exit 0; fi
restic diff $latest
"""


def test_dep050_counting_a_joined_value(tmp_path: Path) -> None:
    sides = _fails(_tree(tmp_path, {"bin/stats.sh": JOINED}), "DEP057")
    assert ("bin/stats.sh", 3) in sides and ("bin/stats.sh", 6) in sides


def test_dep050_count_before_join_or_reassigned_passes(tmp_path: Path) -> None:
    a = _tree(tmp_path / "a", {"bin/stats.sh": JOINED.replace("| tr '\\n' ' ')", ")")})
    assert _statuses(a, "DEP057") == {Status.PASS}
    b = _tree(
        tmp_path / "b", {"bin/stats.sh": JOINED.replace("count=", "latest=$(restic snapshots)\ncount=")}
    )
    assert _statuses(b, "DEP057") == {Status.PASS}


AM_UNIT = """[Unit]
Description=Alertmanager

[Service]
User=alertmanager
ExecStart=/usr/local/bin/alertmanager \\
    --config.file=/etc/alertmanager/alertmanager.yml \\
    --web.listen-address=127.0.0.1:9093 \\
    --web.external-url=https://mon.example.org/alertmanager/
Restart=on-failure
"""
PROM_YML = """global:
  scrape_interval: 15s
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:9093"]
{prefix}scrape_configs:
  - job_name: alertmanager
    metrics_path: {metrics}
    static_configs:
      - targets: ["127.0.0.1:9093"]
"""
DATASOURCES = """apiVersion: 1
datasources:
  - name: Alertmanager
    type: alertmanager
    url: http://127.0.0.1:9093{path}
    jsonData:
      implementation: prometheus
"""
RUNBOOK = "# Alerts not delivered\n\n```console\n$ curl -s http://127.0.0.1:9093{path}/api/v2/status\n$ amtool --alertmanager.url=http://127.0.0.1:9093{path} alert query\n```\n"


def _am_tree(root: Path, path: str, prefix_line: str, metrics: str) -> Path:
    return _tree(
        root,
        {
            "systemd/alertmanager.service": AM_UNIT,
            "prometheus/prometheus.yml": PROM_YML.format(prefix=prefix_line, metrics=metrics),
            "grafana/provisioning/datasources/datasources.yml": DATASOURCES.format(path=path),
            "docs/runbooks/alerts-not-delivered.md": RUNBOOK.format(path=path),
        },
    )


def test_mon032_external_url_path_without_matching_clients(tmp_path: Path) -> None:
    r = scan_tree(_am_tree(tmp_path, "", "", "/metrics"), only=["MON032"])
    fails = findings(r, "MON032", Status.FAIL)
    where = {(f.evidence[0].path, f.evidence[0].line): f for f in fails}
    alerting = where[("prometheus/prometheus.yml", 5)]  # the alertmanagers entry: no path_prefix
    assert alerting.effective_severity.value == "critical"
    assert ("systemd/alertmanager.service", 9) in {(e.path, e.line) for e in alerting.evidence}
    assert ("prometheus/prometheus.yml", 9) in where  # metrics_path /metrics
    assert ("grafana/provisioning/datasources/datasources.yml", 3) in where
    assert ("docs/runbooks/alerts-not-delivered.md", 4) in where  # curl
    assert ("docs/runbooks/alerts-not-delivered.md", 5) in where  # amtool
    assert len(fails) == 5


def test_mon032_clients_under_the_prefix_pass(tmp_path: Path) -> None:
    root = _am_tree(tmp_path, "/alertmanager", "      path_prefix: /alertmanager\n", "/alertmanager/metrics")
    text = (root / "prometheus/prometheus.yml").read_text()
    # path_prefix belongs to the alertmanagers entry, above static_configs
    text = text.replace(
        '    - static_configs:\n        - targets: ["127.0.0.1:9093"]\n      path_prefix: /alertmanager\n',
        '    - path_prefix: /alertmanager\n      static_configs:\n        - targets: ["127.0.0.1:9093"]\n',
    )
    (root / "prometheus/prometheus.yml").write_text(text)
    assert _statuses(root, "MON032") == {Status.PASS}


REDIS_EXPORTER = """[Unit]
Description=redis_exporter

[Service]
User=redis_exporter
{env}ExecStart=/usr/local/bin/redis_exporter -redis.addr=redis://127.0.0.1:6379
Restart=always
"""
MYSQL_EXPORTER = """[Unit]
Description=mysqld_exporter

[Service]
User=mysqld_exporter
Environment=DATA_SOURCE_NAME={user}@(127.0.0.1:3306)/
ExecStart=/usr/local/bin/mysqld_exporter
Restart=always
"""
REDIS_CONF = "bind 127.0.0.1\nport 6379\n# requirepass foobared\nrequirepass Zq8vN3kT\n"
USERS_SQL = "#!/bin/bash\nmysql <<SQL\nCREATE USER IF NOT EXISTS 'app'@'localhost' IDENTIFIED BY 'x';\nCREATE USER 'mysqld_exporter'@'127.0.0.1' IDENTIFIED BY 'y';\nSQL\n"


def _exporters(root: Path, redis_env: str, mysql_user: str) -> Path:
    return _tree(
        root,
        {
            "redis/redis.conf": REDIS_CONF,
            "systemd/redis_exporter.service": REDIS_EXPORTER.format(env=redis_env),
            "systemd/mysqld_exporter.service": MYSQL_EXPORTER.format(user=mysql_user),
            "scripts/db-users.sh": USERS_SQL,
        },
    )


def test_mon033_exporters_without_matching_credentials(tmp_path: Path) -> None:
    r = scan_tree(_exporters(tmp_path, "", "exporter"), only=["MON033"])
    fails = findings(r, "MON033", Status.FAIL)
    sides = {(e.path, e.line) for f in fails for e in f.evidence}
    assert ("systemd/redis_exporter.service", 6) in sides and ("redis/redis.conf", 4) in sides
    assert ("systemd/mysqld_exporter.service", 6) in sides and ("scripts/db-users.sh", 4) in sides
    shown = " ".join(f.message + " ".join(str(e.excerpt) for e in f.evidence) for f in fails)
    assert "Zq8vN3kT" not in shown  # the password itself is never shown


def test_mon033_matching_credentials_pass(tmp_path: Path) -> None:
    root = _exporters(tmp_path, "EnvironmentFile=/etc/redis_exporter.env\n", "mysqld_exporter")
    assert _statuses(root, "MON033") == {Status.PASS}


FPM_EXPORTER = """[Unit]
Description=php-fpm_exporter

[Service]
User={user}
ExecStart=/usr/local/bin/php-fpm_exporter server --phpfpm.scrape-uri=unix:///run/php/php8.2-fpm.sock;/fpm-status
Restart=always
"""
FPM_POOL = """[www]
user = www-data
group = www-data
listen = /run/php/php8.2-fpm.sock
listen.owner = www-data
listen.group = www-data
listen.mode = 0660
pm = dynamic
{status}
"""


def _fpm(root: Path, user: str, status: str) -> Path:
    return _tree(
        root,
        {
            "systemd/phpfpm_exporter.service": FPM_EXPORTER.format(user=user),
            "php/fpm/pool.d/www.conf": FPM_POOL.format(status=status),
        },
    )


def test_mon034_status_path_and_socket_mode(tmp_path: Path) -> None:
    r = scan_tree(_fpm(tmp_path / "a", "www-data", "pm.status_path = /status"), only=["MON034"])
    sides = {(e.path, e.line) for f in findings(r, "MON034", Status.FAIL) for e in f.evidence}
    assert ("systemd/phpfpm_exporter.service", 6) in sides and ("php/fpm/pool.d/www.conf", 9) in sides
    r = scan_tree(_fpm(tmp_path / "b", "phpfpm_exporter", "pm.status_path = /fpm-status"), only=["MON034"])
    msgs = [f.message for f in findings(r, "MON034", Status.FAIL)]
    assert len(msgs) == 1 and "0660" in msgs[0], msgs  # the socket refuses the exporter's user
    r = scan_tree(_fpm(tmp_path / "c", "www-data", ""), only=["MON034"])
    assert any("no pm.status_path" in f.message for f in findings(r, "MON034", Status.FAIL))


def test_mon034_matching_pool_passes(tmp_path: Path) -> None:
    assert _statuses(_fpm(tmp_path, "www-data", "pm.status_path = /fpm-status"), "MON034") == {Status.PASS}
