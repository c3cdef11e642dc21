"""Issue #15 wiring joins on small trees shaped like real stacks: MON035 (receivers that cannot deliver),
MON014's unused-receiver tier, MON004 (rule files with zero rules), MON029 (legacy retention), TOP006
(stub_status listen address and access rules), BAK033 (secret archives world-readable) and NET016
(tunnel egress). Each bad shape fails at the line of both sides of the join; the careful shape passes."""

from __future__ import annotations

from pathlib import Path

from chom_validate.findings import Status

from .conftest import findings, scan_tree
from .conftest import write_tree as _tree

COMPOSE = """services:
  alertmanager:
    image: prom/alertmanager:v0.28.1
    volumes:
      - ./alertmanager:/etc/alertmanager
{extra}"""


def _am(receivers: str, routes: str = "", glob: str = "") -> str:
    return f"{glob}route:\n  receiver: ops\n  group_by: [alertname]\n{routes}receivers:\n{receivers}"


def _run(root: Path, cid: str = "MON035") -> tuple[list, set[Status]]:
    res = scan_tree(root, only=[cid])
    return findings(res, cid, Status.FAIL), {f.status for f in findings(res, cid)}


def test_loopback_webhook_in_container_fails_critical_as_only_receiver(tmp_path: Path) -> None:
    hook = "  - name: ops\n    webhook_configs:\n      - url: http://localhost:5001/\n"
    root = _tree(
        tmp_path, {"docker-compose.yml": COMPOSE.format(extra=""), "alertmanager/alertmanager.yml": _am(hook)}
    )
    fails, _ = _run(root)
    assert len(fails) == 1
    f = fails[0]
    assert f.effective_severity == "critical"
    where = {(e.path, e.line) for e in f.evidence}
    assert ("alertmanager/alertmanager.yml", 7) in where  # the URL
    assert ("alertmanager/alertmanager.yml", 2) in where  # the route using it
    assert ("docker-compose.yml", 2) in where  # the container it runs in


def test_sidecar_in_alertmanager_namespace_passes(tmp_path: Path) -> None:
    hook = "  - name: ops\n    webhook_configs:\n      - url: http://127.0.0.1:5001/\n"
    side = "  relay:\n    image: acme/relay:1.0\n    network_mode: service:alertmanager\n"
    root = _tree(
        tmp_path,
        {"docker-compose.yml": COMPOSE.format(extra=side), "alertmanager/alertmanager.yml": _am(hook)},
    )
    fails, statuses = _run(root)
    assert not fails and Status.PASS in statuses


def test_host_install_loopback_needs_a_listener(tmp_path: Path) -> None:
    hook = "  - name: ops\n    webhook_configs:\n      - url: http://127.0.0.1:9095/hook\n"
    unit = "[Unit]\nDescription=relay\n\n[Service]\nExecStart=/usr/local/bin/relay --web.listen-address=127.0.0.1:{port}\n"
    files = {"alertmanager/alertmanager.yml": _am(hook), "systemd/relay.service": unit.format(port=9096)}
    root = _tree(tmp_path / "bad", files)
    fails, _ = _run(root)
    assert [e.line for e in fails[0].evidence][:1] == [7], [f.message for f in fails]
    files["systemd/relay.service"] = unit.format(port=9095)
    fails, statuses = _run(_tree(tmp_path / "good", files))
    assert not fails and Status.PASS in statuses


def test_smtp_auth_without_password_and_unrendered_variable(tmp_path: Path) -> None:
    glob = (
        "global:\n  smtp_smarthost: smtp.acme.io:587\n  smtp_from: am@acme.io\n"
        "  smtp_auth_username: am@acme.io\n  smtp_auth_password: ''\n"
    )
    recs = (
        "  - name: ops\n    email_configs:\n      - to: ops@acme.io\n"
        "  - name: spare\n    slack_configs:\n      - api_url: ${SLACK_URL}\n        channel: '#ops'\n"
    )
    root = _tree(tmp_path / "bad", {"alertmanager/alertmanager.yml": _am(recs, glob=glob)})
    fails, _ = _run(root)
    by = {f.subject.rsplit(" ", 1)[-1]: f for f in fails}
    assert set(by) == {"ops", "spare"}, [f.message for f in fails]
    assert by["ops"].effective_severity == "critical" and "no password" in by["ops"].message
    assert {e.line for e in by["ops"].evidence} >= {4, 5, 12}
    assert by["spare"].effective_severity == "low" and "${SLACK_URL}" in by["spare"].message
    # rendered at deploy time and the password comes from a file: nothing to report
    good = {
        "alertmanager/alertmanager.yml": _am(
            recs, glob=glob.replace("smtp_auth_password: ''", "smtp_auth_password_file: /run/secrets/smtp")
        ),
        "deploy.sh": "#!/bin/sh\nset -eu\nenvsubst < alertmanager/alertmanager.yml > /etc/alertmanager/alertmanager.yml\n",
    }
    fails, statuses = _run(_tree(tmp_path / "good", good))
    assert not fails and Status.PASS in statuses, [f.message for f in fails]


def test_mon014_placeholder_only_in_unused_receiver_is_low(tmp_path: Path) -> None:
    recs = (
        "  - name: ops\n    email_configs:\n      - to: ops@acme.io\n        from: am@acme.io\n        smarthost: smtp.acme.io:587\n"
        "  - name: spare\n    webhook_configs:\n      - url: https://hooks.example.com/<your-webhook>\n"
    )
    root = _tree(tmp_path, {"alertmanager/alertmanager.yml": _am(recs)})
    fails, _ = _run(root, "MON014")
    assert len(fails) == 1 and fails[0].effective_severity == "low", [f.message for f in fails]
    assert [e.line for e in fails[0].evidence] == [12]
    used = _am(recs.replace("name: ops", "name: old").replace("name: spare", "name: ops"))
    fails, _ = _run(_tree(tmp_path / "used", {"alertmanager/alertmanager.yml": used}), "MON014")
    assert len(fails) == 1 and fails[0].effective_severity == "high"


PROM = "global:\n  scrape_interval: 15s\nrule_files:\n  - rules/*.yml\n"


def test_mon004_rule_files_with_zero_rules(tmp_path: Path) -> None:
    files = {
        "prometheus/prometheus.yml": PROM,
        "prometheus/rules/a.yml": "groups: []\n",
        "prometheus/rules/b.yml": "groups:\n  - name: node\n    rules: []\n",
    }
    fails, _ = _run(_tree(tmp_path / "bad", files), "MON004")
    assert len(fails) == 1 and "zero rules" in fails[0].message, [f.message for f in fails]
    assert {(e.path, e.line) for e in fails[0].evidence} == {
        ("prometheus/prometheus.yml", 4),
        ("prometheus/rules/a.yml", 1),
        ("prometheus/rules/b.yml", 1),
    }
    files["prometheus/rules/b.yml"] = (
        "groups:\n  - name: node\n    rules:\n      - alert: NodeDown\n        expr: up == 0\n        for: 5m\n"
    )
    fails, statuses = _run(_tree(tmp_path / "good", files), "MON004")
    assert not fails and Status.PASS in statuses, [f.message for f in fails]


LOKI = "auth_enabled: true\nschema_config:\n  configs: []\nstorage_config:\n  filesystem:\n    directory: /loki/chunks\n"


def test_mon029_legacy_table_manager_retention(tmp_path: Path) -> None:
    bad = LOKI + "table_manager:\n  retention_period: 336h\n"
    fails, _ = _run(_tree(tmp_path / "bad", {"loki/loki-config.yaml": bad}), "MON029")
    assert len(fails) == 1 and fails[0].evidence[0].line == 8, [f.message for f in fails]
    good = bad + "  retention_deletes_enabled: true\n"
    fails, statuses = _run(_tree(tmp_path / "good", {"loki/loki-config.yaml": good}), "MON029")
    assert not fails and Status.PASS in statuses


EXPORTER = (
    "[Unit]\nDescription=nginx exporter\n[Service]\n"
    "ExecStart=/usr/local/bin/nginx-prometheus-exporter --nginx.scrape-uri=http://127.0.0.1:8080/stub_status\n"
)
STATUS_SITE = (
    "server {{\n    listen {listen};\n    location = /stub_status {{\n        stub_status;\n{acl}    }}\n}}\n"
)


def test_top006_listen_address_and_access_rules(tmp_path: Path) -> None:
    def run(name: str, listen: str, acl: str) -> tuple[list, set[Status]]:
        files = {
            "systemd/nginx-exporter.service": EXPORTER,
            "nginx/status.conf": STATUS_SITE.format(listen=listen, acl=acl),
        }
        return _run(_tree(tmp_path / name, files), "TOP006")

    # stub_status only for the LAN: the exporter's 127.0.0.1 is refused (403) by `deny all`
    fails, _ = run("deny", "8080", "        allow 10.0.0.0/8;\n        deny all;\n")
    assert len(fails) == 1 and "403" in fails[0].message
    assert {(e.path, e.line) for e in fails[0].evidence} >= {
        ("systemd/nginx-exporter.service", 4),
        ("nginx/status.conf", 6),
    }
    # bound to the public address only: 127.0.0.1:8080 is not served by it
    fails, _ = run("bound", "10.1.2.3:8080", "")
    assert len(fails) == 1 and "no Nginx site" in fails[0].message
    # the careful form: loopback listener, loopback allowed first
    fails, statuses = run("good", "127.0.0.1:8080", "        allow 127.0.0.1;\n        deny all;\n")
    assert not fails and Status.PASS in statuses


def test_bak033_directory_made_private_by_the_installer(tmp_path: Path) -> None:
    backup = (
        "#!/bin/bash\nset -euo pipefail\nDEST=/var/backups/app\n"
        'pg_dump -Fc app > "$DEST/app-$(date +%F).dump"\n'
        'redis-cli --rdb "$DEST/redis.rdb"\n'
    )
    fails, _ = _run(_tree(tmp_path / "bad", {"bin/backup.sh": backup}), "BAK033")
    assert len(fails) == 1 and {e.line for e in fails[0].evidence} == {4, 5}, [f.message for f in fails]
    installer = "#!/bin/bash\nset -euo pipefail\ninstall -d -o root -g root -m 0700 /var/backups/app\n"
    files = {"bin/backup.sh": backup, "bin/install-backup.sh": installer}
    fails, statuses = _run(_tree(tmp_path / "good", files), "BAK033")
    assert not fails and Status.PASS in statuses, [f.message for f in fails]


def test_bak033_tar_in_a_container_judged_on_the_host_mount(tmp_path: Path) -> None:
    # mailcow shape: the host directory is opened 755 and tar runs as root in a container (umask 022
    # there, whatever the script sets): the archive of the mail-crypt keys is world-readable
    script = (
        "#!/bin/bash\numask 077\nDIR=/opt/backup/mail-$(date +%F)\n"
        'mkdir -p "$DIR"\nchmod 755 "$DIR"\n'
        'docker run --rm -v "$DIR":/backup -v crypt-vol:/crypt:ro debian:12 tar -Pcvpf /backup/backup_crypt.tar /crypt\n'
    )
    fails, _ = _run(_tree(tmp_path, {"backup.sh": script}), "BAK033")
    assert len(fails) == 1, [f.message for f in fails]
    assert {e.line for e in fails[0].evidence} == {
        6,
        5,
    }  # the archive and the chmod that opened the directory
    assert "/backup_crypt.tar" in fails[0].message and "$DIR" in fails[0].message


def test_mon035_bare_variable_value_and_dollar_inside_a_value(tmp_path: Path) -> None:
    # no global section at all (the parser's default mapping has no line table)
    text = (
        "route:\n  receiver: ops\nreceivers:\n  - name: ops\n    webhook_configs:\n      - url: $WEBHOOK_URL\n"
        "    email_configs:\n      - to: ops@acme.io\n        smarthost: smtp.acme.io:587\n        from: am@acme.io\n"
        "        auth_username: am@acme.io\n        auth_password: pa$SWORD1x\n"
    )
    fails, _ = _run(_tree(tmp_path, {"alertmanager/alertmanager.yml": text}))
    assert len(fails) == 1 and "$WEBHOOK_URL" in fails[0].message, [f.message for f in fails]
    assert [e.line for e in fails[0].evidence] == [6]


def test_net016_nft_egress_from_the_tunnel_is_not_reported(tmp_path: Path) -> None:
    script = (
        "#!/bin/bash\nset -euo pipefail\ncat > /etc/nftables.d/wg.nft <<'NFT'\ntable inet wg {\n"
        "    chain forward {\n        type filter hook forward priority 0; policy drop;\n"
        '        iifname "wg0" oifname "eth0" accept\n'
        '        oifname "wg0" ip daddr 10.66.0.0/24 accept\n    }\n}\nNFT\n'
    )
    fails, _ = _run(_tree(tmp_path, {"setup.sh": script}), "NET016")
    assert len(fails) == 1 and [e.line for e in fails[0].evidence] == [8], [f.message for f in fails]
