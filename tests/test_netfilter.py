"""Firewall semantics of deploy scripts (NET012-NET022), netfilter units (SYS021/SYS022) and the
precision fixes (legacy StartLimitInterval=, root-by-design units, NET003 without a default policy).

Each case is a small tree shaped like a real defect (an installer writing iptables rules into a
generated unit, an nft table of its own, a compose file publishing admin ports) and its fixed twin.
Scripts avoid top-level assignments on purpose: they test the firewall model, not variable parsing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chom_validate.artifacts.shell import parse_shell_text
from chom_validate.facts.firewall import line_conditions, script_firewall, script_writes
from chom_validate.findings import Status

from .conftest import findings, scan_tree
from .conftest import write_tree as _tree


def _run(tmp_path: Path, files: dict[str, str], check: str) -> list:  # type: ignore[type-arg]
    return findings(scan_tree(_tree(tmp_path, files), only=[check]), check)


def _lines(fs: list, status: str = "fail") -> list[int | None]:  # type: ignore[type-arg]
    return [e.line for f in fs if f.status == Status(status) for e in f.evidence]


WG_UNIT = """#!/bin/bash
set -e
if ! systemctl is-active --quiet firewalld.service && ! hash iptables 2>/dev/null; then
\techo "installing a firewall"
fi
if systemctl is-active --quiet firewalld.service; then
\tfirewall-cmd --add-port="$1"/udp
else
\techo "[Unit]
After=network-online.target
[Service]
Type=oneshot
ExecStart=/usr/sbin/iptables -w 5 -I INPUT -p udp --dport $1 -j ACCEPT
ExecStart=/usr/sbin/iptables -w 5 -I FORWARD -s 10.7.0.0/24 -j ACCEPT
ExecStop=/usr/sbin/iptables -w 5 -D INPUT -p udp --dport $1 -j ACCEPT
ExecStop=/usr/sbin/iptables -w 5 -D FORWARD -s 10.7.0.0/24 -j ACCEPT
RemainAfterExit=yes
[Install]
WantedBy=multi-user.target" > /etc/systemd/system/wg-iptables.service
\tsystemctl enable --now wg-iptables.service
fi
"""


def test_model_reads_rules_from_echo_written_unit() -> None:
    fw = script_firewall(parse_shell_text(WG_UNIT))
    adds = [(r.chain, r.op, r.line, r.origin) for r in fw.rules if r.op in ("A", "I")]
    assert ("INPUT", "I", 13, "/etc/systemd/system/wg-iptables.service") in adds
    assert [d.line for d in fw.detections][:2] == [3, 3]
    conds = line_conditions(parse_shell_text(WG_UNIT).lines)
    assert conds[12] == ("not (systemctl is-active --quiet firewalld.service)",)


def test_group_writes_and_heredocs_are_files() -> None:
    text = "#!/bin/bash\n{\n\techo 'table inet app {'\n\techo '}'\n} >/etc/nftables/app.nft\ncat >/etc/x.conf <<EOF\na=1\nEOF\n"
    w = script_writes(parse_shell_text(text))
    assert [ln for ln, _ in w["/etc/nftables/app.nft"].lines] == [3, 4]
    assert w["/etc/x.conf"].lines == [(7, "a=1")]


def test_net012_backend_detection_without_nftables(tmp_path: Path) -> None:
    fs = _run(tmp_path, {"install.sh": WG_UNIT}, "NET012")
    assert 3 in _lines(fs) and 13 in _lines(fs)
    assert all(f.effective_severity.value == "low" for f in fs if f.status == Status.FAIL)


def test_net012_own_nft_table_vs_flush_ruleset(tmp_path: Path) -> None:
    own = """#!/bin/bash
if systemctl is-active --quiet nftables; then
\t{
\t\techo "table inet app {"
\t\techo "\tchain input {"
\t\techo "\t\ttype filter hook input priority 0; policy accept;"
\t\techo "\t\tudp dport 1194 accept"
\t\techo "\t}"
\t\techo "}"
\t} >/etc/nftables/app.nft
fi
"""
    fs = _run(tmp_path / "bad", {"install.sh": own}, "NET012")
    assert {6, 7} <= set(_lines(fs)), [f.message for f in fs]
    full = own.replace('\t\techo "table inet app {"', '\t\techo "flush ruleset"\n\t\techo "table inet app {"')
    good = _run(tmp_path / "good", {"install.sh": full}, "NET012")
    assert good and all(f.status == Status.PASS for f in good), [f.message for f in good]


NFT_INCLUDE = """#!/bin/bash
if [[ -e /etc/fedora-release ]]; then
\tdnf install -y nftables
fi
echo 'include "/etc/nftables/app.nft"' >> /etc/nftables.conf
systemctl reload nftables
"""


def test_net013_reload_flushes_and_net014_include_on_rhel(tmp_path: Path) -> None:
    tree = _tree(tmp_path, {"install.sh": NFT_INCLUDE})
    rep = scan_tree(tree, only=["NET013", "NET014"])
    assert 6 in _lines(findings(rep, "NET013"))
    lines = set(_lines(findings(rep, "NET014")))
    # the include (5) and the RHEL-family branch: its `[[ -e /etc/fedora-release ]]` test (2) or the install in it (3)
    assert 5 in lines and lines & {2, 3}, lines


def test_net013_net014_pass_when_script_owns_the_config(tmp_path: Path) -> None:
    own = "#!/bin/bash\ncat >/etc/nftables.conf <<'EOF'\nflush ruleset\ninclude \"/etc/nftables/app.nft\"\nEOF\nsystemctl reload nftables\n"
    rep = scan_tree(_tree(tmp_path, {"install.sh": own}), only=["NET013", "NET014"])
    for cid in ("NET013", "NET014"):
        fs = findings(rep, cid)
        assert fs and all(f.status == Status.PASS for f in fs), (cid, [f.message for f in fs])


IPT_SCRIPT = """#!/bin/bash
echo "#!/bin/sh" >/etc/iptables/add.sh
if [[ $CLIENT_IPV4 == 'y' ]]; then
\techo "iptables -I FORWARD 1 -o tun+ -d 10.8.0.0/24 -j ACCEPT
iptables -I INPUT 1 -i eth0 -p udp --dport 1194 -j ACCEPT" >>/etc/iptables/add.sh
fi
if [[ $CLIENT_IPV6 == 'y' ]]; then
\techo "ip6tables -I INPUT 1 -i eth0 -p udp --dport 1194 -j ACCEPT" >>/etc/iptables/add.sh
fi
"""


def test_net015_parity_and_net016_stateless_forward(tmp_path: Path) -> None:
    rep = scan_tree(_tree(tmp_path, {"install.sh": IPT_SCRIPT}), only=["NET015", "NET016"])
    assert {5, 8} <= set(_lines(findings(rep, "NET015")))
    assert 4 in _lines(findings(rep, "NET016"))


def test_net015_net016_pass_on_fixed_rules(tmp_path: Path) -> None:
    fixed = """#!/bin/bash
echo "iptables -I FORWARD 1 -o tun+ -d 10.8.0.0/24 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
iptables -I INPUT 1 -i eth0 -p udp --dport 1194 -j ACCEPT
ip6tables -I INPUT 1 -i eth0 -p udp --dport 1194 -j ACCEPT" >/etc/iptables/add.sh
"""
    rep = scan_tree(_tree(tmp_path, {"install.sh": fixed}), only=["NET015", "NET016"])
    for cid in ("NET015", "NET016"):
        fs = findings(rep, cid)
        assert fs and all(f.status == Status.PASS for f in fs), (cid, [f.message for f in fs])


def test_net017_firewalld_enable_without_sshd_port(tmp_path: Path) -> None:
    bad = "#!/bin/bash\nsystemctl enable --now firewalld.service\nfirewall-cmd --permanent --add-port=51820/udp\n"
    fs = _run(tmp_path / "bad", {"install.sh": bad}, "NET017")
    assert {2, 3} <= set(_lines(fs))
    good = bad.replace(
        "firewall-cmd --permanent",
        "firewall-cmd --permanent --add-port=\"$(sshd -T | awk '/^port /{print $2}')\"/tcp\nfirewall-cmd --permanent",
    )
    fs = _run(tmp_path / "good", {"install.sh": good}, "NET017")
    assert fs and all(f.status == Status.PASS for f in fs)


def test_net018_masquerade_removed_unconditionally(tmp_path: Path) -> None:
    bad = "#!/bin/bash\nfirewall-cmd --permanent --add-masquerade\nuninstall() {\n\tfirewall-cmd --permanent --remove-masquerade\n}\n"
    assert {2, 4} <= set(_lines(_run(tmp_path / "bad", {"i.sh": bad}, "NET018")))
    good = bad.replace(
        "firewall-cmd --permanent --add-masquerade",
        "firewall-cmd --query-masquerade || firewall-cmd --permanent --add-masquerade",
    )
    fs = _run(tmp_path / "good", {"i.sh": good}, "NET018")
    assert fs and all(f.status == Status.PASS for f in fs)


COMPOSE = """services:
  prometheus:
    image: prom/prometheus:v3.0.0
    expose:
      - 9090
  caddy:
    image: caddy:2
    ports:
      - "9090:9090"
      - "443:443"
  nodeexporter:
    image: prom/node-exporter:v1.9.1
    network_mode: host
"""


def test_net019_compose_admin_ports(tmp_path: Path) -> None:
    fs = _run(tmp_path / "bad", {"docker-compose.yml": COMPOSE}, "NET019")
    lines = _lines(fs)
    assert 9 in lines and 10 not in lines and 11 in lines and 13 in lines
    good = COMPOSE.replace('"9090:9090"', '"127.0.0.1:9090:9090"').replace(
        "    network_mode: host\n",
        "    network_mode: host\n    command: ['--web.listen-address=127.0.0.1:9100']\n",
    )
    fs = _run(tmp_path / "good", {"docker-compose.yml": good}, "NET019")
    assert fs and all(f.status == Status.PASS for f in fs), [f.message for f in fs]


UFW_RESET = """#!/bin/bash
set -e
ufw --force reset
ufw default deny incoming
ufw --force enable
ufw limit 22/tcp
"""


def test_net020_ssh_after_enable(tmp_path: Path) -> None:
    rep = scan_tree(_tree(tmp_path, {"fw.sh": UFW_RESET}), only=["NET020"])
    assert {5, 3} <= set(_lines(findings(rep, "NET020")))


def test_net021_reset_deletes_other_scripts_rules(tmp_path: Path) -> None:
    mon = "#!/bin/bash\nufw allow from 10.0.0.5 to any port 9100 proto tcp\n"
    fs = _run(tmp_path / "bad", {"fw.sh": UFW_RESET, "monitoring.sh": mon}, "NET021")
    assert 3 in _lines(fs) and any(e.path == "monitoring.sh" for f in fs for e in f.evidence)
    fs = _run(tmp_path / "good", {"fw.sh": UFW_RESET}, "NET021")  # the only rule set: authoritative
    assert fs and all(f.status == Status.PASS for f in fs)


def test_net020_passes_when_ssh_comes_first(tmp_path: Path) -> None:
    good = UFW_RESET.replace(
        "ufw --force enable\nufw limit 22/tcp\n", "ufw limit 22/tcp\nufw --force enable\n"
    )
    fs = _run(tmp_path, {"fw.sh": good}, "NET020")
    assert fs and all(f.status == Status.PASS for f in fs)


def test_net022_two_scripts_own_one_rule_set(tmp_path: Path) -> None:
    a = "#!/bin/bash\nufw default deny incoming\nufw allow from 10.0.0.5 to any port 3306\nufw limit 22/tcp\n"
    b = "#!/bin/bash\nufw default deny incoming\nufw allow 3306/tcp\nufw limit 22/tcp\n"
    fs = _run(tmp_path / "bad", {"db.sh": a, "harden.sh": b}, "NET022")
    assert {("db.sh", 3), ("harden.sh", 3)} <= {(e.path, e.line) for f in fs for e in f.evidence}
    fs = _run(tmp_path / "good", {"db.sh": a, "harden.sh": a}, "NET022")
    assert fs and all(f.status == Status.PASS for f in fs)


def test_sys021_netfilter_unit_partial_rules(tmp_path: Path) -> None:
    fs = _run(tmp_path / "bad", {"install.sh": WG_UNIT}, "SYS021")
    assert 13 in _lines(fs)
    fixed = WG_UNIT.replace(
        "RemainAfterExit=yes",
        "ExecStopPost=-/usr/sbin/iptables -w 5 -D INPUT -p udp --dport $1 -j ACCEPT\nRemainAfterExit=yes",
    )
    fs = _run(tmp_path / "good", {"install.sh": fixed}, "SYS021")
    assert fs and all(f.status == Status.PASS for f in fs)


def test_sys022_vendor_unit_copied(tmp_path: Path) -> None:
    bad = (
        "#!/bin/bash\ncp /lib/systemd/system/openvpn-server@.service /etc/systemd/system/openvpn-server@.service\n"
        "sed -i 's|LimitNPROC|#LimitNPROC|' /etc/systemd/system/openvpn-server@.service\n"
    )
    assert {2, 3} <= set(_lines(_run(tmp_path / "bad", {"i.sh": bad}, "SYS022")))
    good = "#!/bin/bash\nmkdir -p /etc/systemd/system/openvpn-server@.service.d\n"
    fs = _run(tmp_path / "good", {"i.sh": good}, "SYS022")
    assert fs and all(f.status == Status.PASS for f in fs)  # a drop-in was looked at: pass
    fs = _run(tmp_path / "none", {"i.sh": "#!/bin/bash\napt-get install -y openvpn\n"}, "SYS022")
    assert fs and all(f.status == Status.NOT_APPLICABLE for f in fs)  # no unit written at all


UNIT = """[Unit]
Description=x

[Service]
ExecStart=/usr/local/bin/x
Restart=always
{extra}
"""


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ("StartLimitInterval=0", "pass"),  # legacy spelling in [Service]: honoured by systemd
        ("StartLimitIntervalSec=0", "fail"),  # new spelling in [Service]: ignored
        ("", "fail"),  # default RestartSec=100ms, no limit: gives up after 5 crashes
    ],
)
def test_sys004_start_limit_spellings(tmp_path: Path, extra: str, status: str) -> None:
    fs = _run(tmp_path, {"x.service": UNIT.format(extra=extra)}, "SYS004")
    assert [f.status for f in fs] == [Status(status)], [f.message for f in fs]


def test_sys003_sys009_root_by_design_is_low(tmp_path: Path) -> None:
    rep = scan_tree(
        _tree(tmp_path, {"k.service": UNIT.format(extra="Delegate=yes\nKillMode=process")}),
        only=["SYS003", "SYS009"],
    )
    for cid in ("SYS003", "SYS009"):
        fs = findings(rep, cid, "fail")
        assert fs and all(f.effective_severity.value == "low" for f in fs), cid
    plain = scan_tree(_tree(tmp_path / "p", {"x.service": UNIT.format(extra="")}), only=["SYS003"])
    assert [f.effective_severity.value for f in findings(plain, "SYS003", "fail")] == ["high"]


def test_net003_without_default_policy_is_not_an_error(tmp_path: Path) -> None:
    fs = _run(tmp_path, {"fw.sh": "#!/bin/bash\nufw allow 443/tcp\nufw --force enable\n"}, "NET003")
    assert fs and not any(f.status == Status.ERROR for f in fs), [(f.status, f.message) for f in fs]
    assert all(f.status == Status.NOT_APPLICABLE for f in fs)


TIMER = "[Unit]\nDescription=daily backup\n\n[Timer]\nOnCalendar=daily\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n"
BACKUP = "[Unit]\nDescription=backup\n{unit}\n[Service]\nType=simple\nExecStart=/usr/local/bin/restic backup /srv\n"


def test_sys023_persistent_timer_network_job(tmp_path: Path) -> None:
    bad = {"backup.timer": TIMER, "backup.service": BACKUP.format(unit="")}
    fs = _run(tmp_path / "bad", bad, "SYS023")
    assert {("backup.service", 1), ("backup.timer", 6)} <= {(e.path, e.line) for f in fs for e in f.evidence}
    good = {
        "backup.timer": TIMER,
        "backup.service": BACKUP.format(unit="Wants=network-online.target\nAfter=network-online.target"),
    }
    fs = _run(tmp_path / "good", good, "SYS023")
    assert fs and all(f.status == Status.PASS for f in fs), [f.message for f in fs]


def test_net023_compose_default_credentials(tmp_path: Path) -> None:
    bad = (
        "services:\n  grafana:\n    image: grafana/grafana:12\n    ports:\n      - '3000:3000'\n    environment:\n"
        "      - GF_SECURITY_ADMIN_USER=${ADMIN_USER:-admin}\n"
        "      - GF_SECURITY_ADMIN_PASSWORD=${ADMIN_PASSWORD:-admin}\n"
        "      - API_HASH=${API_HASH:-$2a$14$abcdefghijklmnopqrstuv}\n"
        "      - API_KEY=${API_KEY:-invalid}\n"
    )
    fs = _run(tmp_path / "bad", {"docker-compose.yml": bad}, "NET023")
    assert {8, 9} <= set(_lines(fs)) and 7 not in _lines(fs) and 10 not in _lines(fs)
    assert not any("abcdefghij" in (e.excerpt or "") for f in fs for e in f.evidence)
    good = bad.replace(":-admin}", ":?set it}").replace(":-$2a$14$abcdefghijklmnopqrstuv}", "}")
    fs = _run(tmp_path / "good", {"docker-compose.yml": good}, "NET023")
    assert fs and all(f.status == Status.PASS for f in fs), [f.message for f in fs]


SITE = """server {
    listen 443 ssl;
    server_name ops.example.com;
    location /alertmanager/ {
        proxy_pass http://127.0.0.1:9093/;
    }
    location /grafana/ {
        proxy_pass http://127.0.0.1:3000/;
    }
}
"""


def test_net024_proxy_admin_without_auth(tmp_path: Path) -> None:
    fs = _run(tmp_path / "bad", {"nginx/ops.conf": SITE}, "NET024")
    assert {4, 5} <= set(_lines(fs)) and 7 not in _lines(fs)
    good = SITE.replace(
        "        proxy_pass http://127.0.0.1:9093/;",
        '        auth_basic "ops";\n        auth_basic_user_file /etc/nginx/htpasswd;\n        proxy_pass http://127.0.0.1:9093/;',
    )
    fs = _run(tmp_path / "good", {"nginx/ops.conf": good}, "NET024")
    assert fs and all(f.status == Status.PASS for f in fs), [f.message for f in fs]


def test_host_rule_set_is_owner_plus_additions_not_the_longest_script(tmp_path: Path) -> None:
    base = "#!/bin/bash\nufw default deny incoming\nufw limit 22/tcp\nufw --force enable\n"
    # more rules than the owner, but no policy of its own: its rules add to the owner's rule set
    extra = "#!/bin/bash\nufw allow 80/tcp\nufw allow 443/tcp\nufw allow 3306/tcp\nufw allow 8080/tcp\n"
    rep = scan_tree(_tree(tmp_path, {"base.sh": base, "app.sh": extra}), only=["NET001", "NET003", "NET005"])
    assert [(e.path, e.line) for f in findings(rep, "NET003", "fail") for e in f.evidence] == [("app.sh", 4)]
    assert {f.status for f in findings(rep, "NET001")} == {Status.PASS}
    assert [(e.path, e.line) for f in findings(rep, "NET005") for e in f.evidence] == [("base.sh", 4)]


def test_net026_accept_after_drop_and_policy_before_ssh(tmp_path: Path) -> None:
    bad = (
        "#!/bin/bash\niptables -P INPUT DROP\niptables -A INPUT -p tcp --dport 22 -j ACCEPT\n"
        "iptables -A INPUT -j DROP\niptables -A INPUT -p tcp --dport 443 -j ACCEPT\n"
    )
    assert {2, 4, 5} <= set(_lines(_run(tmp_path / "bad", {"fw.sh": bad}, "NET026")))
    good = (
        "#!/bin/bash\niptables -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
        "iptables -A INPUT -p tcp --dport 22 -j ACCEPT\niptables -A INPUT -p tcp --dport 443 -j ACCEPT\n"
        "iptables -P INPUT DROP\n"
    )
    fs = _run(tmp_path / "good", {"fw.sh": good}, "NET026")
    assert fs and all(f.status == Status.PASS for f in fs), [f.message for f in fs]


def test_top005_node_exporter_namespace(tmp_path: Path) -> None:
    bad = (
        "services:\n  nodeexporter:\n    image: prom/node-exporter:v1.9.1\n    command:\n"
        "      - '--path.procfs=/host/proc'\n    networks:\n      - monitor-net\n"
    )
    fs = _run(tmp_path / "bad", {"docker-compose.yml": bad}, "TOP005")
    assert _lines(fs) == [2] and "path.procfs" in fs[0].message
    good = bad.replace("    networks:\n      - monitor-net\n", "    network_mode: host\n")
    fs = _run(tmp_path / "good", {"docker-compose.yml": good}, "TOP005")
    assert fs and all(f.status == Status.PASS for f in fs)


def test_sys024_sandbox_hides_needed_paths(tmp_path: Path) -> None:
    bad = (
        "[Unit]\nDescription=w\n\n[Service]\nProtectHome=yes\nPrivateTmp=yes\n"
        "ExecStart=/home/deploy/app/bin/worker --socket /tmp/mysql.sock\nEnvironmentFile=/root/worker.env\n"
    )
    fs = _run(tmp_path / "bad", {"worker.service": bad}, "SYS024")
    assert {7, 5} <= set(_lines(fs)) and "/home/deploy/app/bin/worker" in fs[0].message
    good = bad.replace("/home/deploy/app", "/opt/app").replace("/tmp/mysql.sock", "/run/mysqld/mysqld.sock")
    fs = _run(tmp_path / "good", {"worker.service": good}, "SYS024")
    assert fs and all(f.status == Status.PASS for f in fs), [f.message for f in fs]


EXPORTER = (
    "[Unit]\nDescription=nginx exporter\n\n[Service]\nUser=nginx_exporter\n"
    "ExecStart=/usr/local/bin/nginx-prometheus-exporter --nginx.scrape-uri=http://127.0.0.1:8081/stub_status\n"
)
STATUS_SITE = (
    "server {\n    listen 127.0.0.1:8081;\n    server_name localhost;\n"
    "    location = /stub_status {\n        stub_status;\n    }\n}\n"
)


def test_top006_exporter_reads_a_deployed_stub_status(tmp_path: Path) -> None:
    bad = {"nginx_exporter.service": EXPORTER, "site.conf": STATUS_SITE.replace("8081", "8080")}
    fs = _run(tmp_path / "bad", bad, "TOP006")
    assert ("nginx_exporter.service", 6) in {
        (e.path, e.line) for f in fs if f.status == Status.FAIL for e in f.evidence
    }
    good = {"nginx_exporter.service": EXPORTER, "site.conf": STATUS_SITE}
    fs = _run(tmp_path / "good", good, "TOP006")
    assert [f.status for f in fs] == [Status.PASS] and ("site.conf", 4) in {
        (e.path, e.line) for e in fs[0].evidence
    }


def test_net027_ufw_delete_spec(tmp_path: Path) -> None:
    bad = "#!/bin/bash\nufw allow 8080/tcp\nufw delete allow 8080\n"
    assert _lines(_run(tmp_path / "bad", {"fw.sh": bad}, "NET027")) == [3]
    good = bad.replace("delete allow 8080\n", "delete allow 8080/tcp\n")
    fs = _run(tmp_path / "good", {"fw.sh": good}, "NET027")
    assert [f.status for f in fs] == [Status.PASS]


def test_sys025_service_user_created_on_its_host(tmp_path: Path) -> None:
    script = (
        "#!/bin/bash\nfor user in node_exporter loki; do\n"
        '    id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"\n'
        "done\napt-get install -y nginx\n"
    )
    unit = "[Unit]\nDescription=x\n\n[Service]\nUser={user}\nExecStart=/usr/local/bin/x\n"
    files = {
        "deploy.sh": script,
        "a.service": unit.format(user="alertmanager"),
        "n.service": unit.format(user="node_exporter"),
        "w.service": unit.format(user="www-data"),
    }
    rep = scan_tree(_tree(tmp_path, files), only=["SYS025"])
    by = {f.subject: f.status for f in findings(rep, "SYS025")}
    assert by == {"a.service": Status.FAIL, "n.service": Status.PASS, "w.service": Status.PASS}, by
    assert ("a.service", 5) in {(e.path, e.line) for f in findings(rep, "SYS025", "fail") for e in f.evidence}
    # no script creates users: where users come from is unknown
    fs = _run(tmp_path / "none", {"a.service": unit.format(user="alertmanager")}, "SYS025")
    assert fs and all(f.status == Status.NOT_APPLICABLE for f in fs)


def test_sys025_user_from_the_base_image_is_unknown_not_missing(tmp_path: Path) -> None:
    script = "#!/bin/bash\nuseradd --system mailpit\nusermod -a -G www-data vagrant\n"
    unit = "[Unit]\nDescription=x\n\n[Service]\nUser=vagrant\nExecStart=/usr/local/bin/mailpit\n"
    fs = _run(tmp_path, {"provision.sh": script, "mailpit.service": unit}, "SYS025")
    assert [f.status for f in fs] == [Status.NOT_APPLICABLE], [f.message for f in fs]


def test_sys026_service_reads_its_config(tmp_path: Path) -> None:
    script = (
        "#!/bin/bash\ninstall -d -m 0755 /etc/alertmanager\n"
        "install -m 0640 -g prometheus alertmanager.yml /etc/alertmanager/\n"
    )
    unit = (
        "[Unit]\nDescription=am\n\n[Service]\nUser=alertmanager\n"
        "ExecStart=/usr/local/bin/alertmanager --config.file=/etc/alertmanager/alertmanager.yml\n"
    )
    fs = _run(tmp_path / "bad", {"deploy.sh": script, "alertmanager.service": unit}, "SYS026")
    assert {("alertmanager.service", 6), ("deploy.sh", 3)} <= {
        (e.path, e.line) for f in fs for e in f.evidence
    }
    assert [f.status for f in fs] == [Status.FAIL]
    fixed = unit.replace("User=alertmanager\n", "User=alertmanager\nSupplementaryGroups=prometheus\n")
    fs = _run(tmp_path / "good", {"deploy.sh": script, "alertmanager.service": fixed}, "SYS026")
    assert [f.status for f in fs] == [Status.PASS]
