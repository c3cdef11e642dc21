"""SEC001-SEC005: bad fixtures fail at the right line, good ones (placeholders, stdin, umask) do not."""

from __future__ import annotations

from pathlib import Path

import pytest

from chom_validate.findings import Severity
from chom_validate.redact import redact
from chom_validate.results import RunReport

from .conftest import findings, scan_tree
from .conftest import write_tree as _tree

FIX = Path(__file__).parent / "fixtures" / "secrets"
IDS = ["SEC001", "SEC002", "SEC003", "SEC004", "SEC005"]
CASES = [
    ("SEC001", "setup-auth.sh", 4),
    ("SEC001", "setup-auth.sh", 5),
    ("SEC001", "setup-auth.sh", 6),
    ("SEC002", ".env", 1),
    ("SEC002", ".env", 2),
    ("SEC003", "setup-auth.sh", 7),
    ("SEC004", "setup-auth.sh", 3),
    ("SEC005", "exporter.service", 5),
]


@pytest.fixture(scope="module")
def bad() -> RunReport:
    return scan_tree(FIX / "bad", only=IDS)


@pytest.fixture(scope="module")
def good() -> RunReport:
    return scan_tree(FIX / "good", only=IDS)


@pytest.mark.parametrize(("check_id", "path", "line"), CASES)
def test_bad_fails_at_line(bad: RunReport, check_id: str, path: str, line: int) -> None:
    got = {(e.path, e.line) for f in findings(bad, check_id, "fail") for e in f.evidence}
    assert (path, line) in got, f"{check_id} at {sorted(got, key=str)}"


def test_literal_credential_on_command_line_is_critical(bad: RunReport) -> None:
    sev = {f.evidence[0].line: f.effective_severity for f in findings(bad, "SEC001", "fail")}
    assert sev[5] == Severity.CRITICAL and sev[4] == Severity.MEDIUM


@pytest.mark.parametrize("check_id", IDS)
def test_good_has_no_failures(good: RunReport, check_id: str) -> None:
    assert not findings(good, check_id, "fail"), [f.message for f in findings(good, check_id, "fail")]


def test_placeholders_reported_as_placeholders(good: RunReport) -> None:
    na = [f for f in findings(good, "SEC002", "not_applicable") if "placeholder" in f.message]
    assert na and na[0].evidence[0].path == ".env.example"


def test_redaction_keeps_harmless_text_readable() -> None:
    assert redact("deploy/passwd: symlink to /etc/passwd") == "deploy/passwd: symlink to /etc/passwd"
    assert "hunter2x" not in redact("mysql -uroot -phunter2x")
    assert "pw123456" not in redact("https://bob:pw123456@example.org/")


# -- precision of SEC002: literal values only ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "key", "kind"),
    [
        ("Tr0ub4dor-prod-2024", "DB_PASSWORD", "strong"),
        ("$DB_PASSWORD", "password", "reference"),
        ("${DB_PASSWORD:-x}", "password", "reference"),
        ("UPDATECLI_GITHUB_TOKEN", "token", "reference"),  # names an environment variable
        ("changeme", "password", "placeholder"),
        ("<team-X-key>", "service_key", "placeholder"),
        ("your-api-key", "api_key", "placeholder"),
        ("mysecret", "api_key", "placeholder"),
        ("secret_ket", "secret_key", "placeholder"),
        ("token123", "rocketchat_token", "placeholder"),
        ("password", "smtp_auth_password", "placeholder"),
        ("^4.0.0", "js-tokens", "not_secret"),
        ("write", "id-token", "not_secret"),
        ("AKIAZ7QW3ERT5YUI9OPL", "aws_access_key_id", "token"),
        ("AKIAIOSFODNN7EXAMPLE", "aws_access_key_id", "placeholder"),
    ],
)
def test_value_classification(value: str, key: str, kind: str) -> None:
    from chom_validate.facts.secrets import classify_value

    assert classify_value(value, key).kind == kind


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("DB_PASSWORD", True),
        ("smtp_auth_password", True),
        ("botToken", True),
        ("service_key", True),
        ("MAILDEV_INCOMING_PASS", True),
        ("css-tokenizer", False),
        ("js-tokens", False),
        ("PasswordResetController", False),
        ("secretName", False),
        ("password_file", False),
        ("MAILCOW_PASS_SCHEME", False),
        ("default_password_lifetime", False),
        ("PWD", False),
        ("bypass", False),
    ],
)
def test_secret_key_names(name: str, secret: bool) -> None:
    from chom_validate.facts.secrets import is_secret_key

    assert is_secret_key(name) is secret



def test_placeholders_are_one_low_finding_per_config_and_quiet_in_fixtures_and_prose(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            # an Alertmanager config outside any examples/ dir (examples/ is out of scope by default)
            "doc/alertmanager/simple.yml": "global:\n  smtp_auth_password: 'password'\nroute:\n  receiver: x\n"
            "receivers:\n  - name: x\n    pagerduty_configs:\n      - service_key: <team-X-key>\n",
            "config/testdata/conf.yml": "global:\n  opsgenie_api_key: asd132\n  slack_app_token: 'xoxb-1234-abcdefgh'\n",
            "README.md": "Set `RKE2_TOKEN=vagrant` and run with --token=test.\n\n```\npassword: changeme\n```\n",
            "ui/package-lock.json": '{"packages": {"node_modules/js-tokens": {"version": "4.0.0"}}}\n',
            ".github/workflows/ci.yml": "jobs:\n  t:\n    env:\n      MAILDEV_INCOMING_PASS: pass\n"
            "    permissions:\n      id-token: write\n",
        },
    )
    rep = scan_tree(root, only=["SEC002"])
    fails = findings(rep, "SEC002", "fail")
    assert len(fails) == 1, [f.message for f in fails]
    f = fails[0]
    assert f.effective_severity == Severity.LOW and "placeholder" in f.message
    assert {e.line for e in f.evidence} == {2, 8}


def test_real_literals_stay_critical_even_beside_placeholders(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "deploy/.env.production": "DB_PASSWORD=Vr8#kLq2!tZp9wXe\nAPI_KEY=changeme\n",
            "config/testdata/real.yml": "token: ghp_Zq8Wm3Tk2Lp9Xc4Vb7Nm1Qa5Sd6Fg0Hj3Kl8Pz\n",
        },
    )
    # testdata/ is out of scope by default (artifacts/scope.py); a user who wants fixtures searched
    # for leaked tokens includes them, and a real token format there is then critical.
    cfg = root / "chom-validate.yaml"
    cfg.write_text("include: ['config/testdata/**']\n")
    fails = findings(scan_tree(root, only=["SEC002"], config=cfg), "SEC002", "fail")
    crit = {
        (f.evidence[0].path, f.evidence[0].line) for f in fails if f.effective_severity == Severity.CRITICAL
    }
    assert ("deploy/.env.production", 1) in crit
    assert ("config/testdata/real.yml", 1) in crit  # a real token format is a leak even in a fixture


# -- SEC001 beyond the basic tools, SEC006 printed/logged, SEC007 default credentials -------------------


BAD_SCRIPT = """#!/usr/bin/env bash
set -euo pipefail
log() { echo "[$(date)] $*" | tee -a /var/log/deploy.log; }
DB_ROOT_PASS=$(openssl rand -base64 24)
cmd="mysql -u root -p$DB_ROOT_PASS -e 'CREATE DATABASE app'"
log "Executing: $cmd"
echo "Generated password: $DB_ROOT_PASS"
docker exec redis redis-cli -a "$REDIS_PASS" save
sshpass -p "$SSH_PASS" ssh deploy@web1 true
execute "mysql -u root -p$DB_ROOT_PASS -e 'FLUSH PRIVILEGES'"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --password) password_value="$2"; shift 2 ;;
    *) shift ;;
  esac
done
"""
GOOD_SCRIPT = """#!/usr/bin/env bash
set -euo pipefail
log() { echo "[$(date)] $*" | tee -a /var/log/deploy.log; }
DB_ROOT_PASS=$(openssl rand -base64 24)
SERVER_NAME="server_$(head /dev/urandom | tr -dc a-z0-9 | head -c 8)"
log "creating database"
echo "server $SERVER_NAME"
printf '%s\\n' "$DB_ROOT_PASS" | htpasswd -ic /etc/nginx/.htpasswd admin
REDISCLI_AUTH="$REDIS_PASS" redis-cli save
mysql --defaults-extra-file=/root/.my.cnf -e 'FLUSH PRIVILEGES'
"""


def test_secrets_beyond_argv_bad(tmp_path: Path) -> None:
    rep = scan_tree(_tree(tmp_path, {"deploy.sh": BAD_SCRIPT}), only=["SEC001", "SEC006"])
    argv = {f.evidence[0].line: f for f in findings(rep, "SEC001", "fail")}
    assert {8, 9, 10, 13} <= set(argv), sorted(argv)
    assert "redis-cli -a" in argv[8].message and "option --password" in argv[13].message
    printed = {f.evidence[0].line: f for f in findings(rep, "SEC006", "fail")}
    assert printed[6].effective_severity == Severity.HIGH and "log" in printed[6].message
    assert printed[7].effective_severity == Severity.MEDIUM


def test_secrets_beyond_argv_good(tmp_path: Path) -> None:
    rep = scan_tree(_tree(tmp_path, {"deploy.sh": GOOD_SCRIPT}), only=["SEC001", "SEC006"])
    assert not findings(rep, "SEC001", "fail"), [f.message for f in findings(rep, "SEC001", "fail")]
    assert not findings(rep, "SEC006", "fail"), [f.message for f in findings(rep, "SEC006", "fail")]


def test_default_credentials(tmp_path: Path) -> None:
    bad = "services:\n  grafana:\n    environment:\n      - GF_SECURITY_ADMIN_PASSWORD=${ADMIN_PASSWORD:-admin}\n"
    good = "services:\n  grafana:\n    environment:\n      - GF_SECURITY_ADMIN_PASSWORD=${ADMIN_PASSWORD:?set it}\n"
    rb = scan_tree(_tree(tmp_path / "b", {"docker-compose.yml": bad}), only=["SEC007"])
    rg = scan_tree(_tree(tmp_path / "g", {"docker-compose.yml": good}), only=["SEC007"])
    fails = findings(rb, "SEC007", "fail")
    assert fails and fails[0].evidence[0].line == 4 and fails[0].effective_severity == Severity.HIGH
    assert not findings(rg, "SEC007", "fail")


# -- redaction --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'htpasswd -b -c /etc/nginx/.htpasswd admin "Pw9xKq2"',
            'htpasswd -b -c /etc/nginx/.htpasswd admin "***REDACTED***"',
        ),
        ("htpasswd -nb admin Pw9xKq2", "htpasswd -nb admin ***REDACTED***"),
        (
            "DATA_SOURCE_NAME=exporter:Pw9xKq2@(localhost:3306)/",
            "DATA_SOURCE_NAME=exporter:***REDACTED***@(localhost:3306)/",
        ),
        ("secret: cannot list directory", "secret: cannot list directory"),
        ('[[ $AUTH_MODE == "pki" ]]', '[[ $AUTH_MODE == "pki" ]]'),
        ("redis-cli -a Pw9xKq2 --no-auth-warning save", "redis-cli -a ***REDACTED*** --no-auth-warning save"),
    ],
)
def test_redaction_masks_values_and_keeps_words(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redaction_by_value_masks_a_known_secret_anywhere() -> None:
    from chom_validate.redact import forget_all, redact_tree, redact_values, remember

    remember("Qz7-unseen-Kx42")
    try:
        assert redact("the value Qz7-unseen-Kx42 in prose") == "the value ***REDACTED*** in prose"
        assert redact_values("<td>Qz7-unseen-Kx42</td>") == "<td>***REDACTED***</td>"
        assert redact_tree({"a": ["x Qz7-unseen-Kx42"]}) == {"a": ["x ***REDACTED***"]}
    finally:
        forget_all()


def test_private_key_bundled_into_a_profile_needs_an_unconditional_chmod(tmp_path: Path) -> None:
    bad = """#!/bin/bash
newClient() {
\tcp /etc/openvpn/client-template.txt "$filepath"
\t{
\t\techo "<key>"
\t\tcat "/etc/openvpn/easy-rsa/pki/private/$client.key"
\t\techo "</key>"
\t} >>"$filepath"
\tif [[ -n "$owner" ]]; then
\t\tchmod go-rw "$filepath"
\tfi
}
"""
    good = bad.replace(
        '\tif [[ -n "$owner" ]]; then\n\t\tchmod go-rw "$filepath"\n\tfi\n', '\tchmod 600 "$filepath"\n'
    )
    rb = scan_tree(_tree(tmp_path / "b", {"vpn.sh": bad}), only=["SEC003"])
    rg = scan_tree(_tree(tmp_path / "g", {"vpn.sh": good}), only=["SEC003"])
    assert [f.evidence[0].line for f in findings(rb, "SEC003", "fail")] == [3]
    assert not findings(rg, "SEC003", "fail")


def test_private_keys_handed_to_a_service_account(tmp_path: Path) -> None:
    bad = """#!/bin/bash
set -e
cd /etc/openvpn/easy-rsa
cp pki/ca.crt pki/private/ca.key pki/private/server.key /etc/openvpn/server
chown -R openvpn:openvpn /etc/openvpn/server
"""
    good = """#!/bin/bash
set -e
cd /etc/openvpn/easy-rsa
cp pki/ca.crt pki/private/server.key /etc/openvpn/server
chown root:openvpn /etc/openvpn/server/server.key
chmod 640 /etc/openvpn/server/server.key
"""
    rb = scan_tree(_tree(tmp_path / "b", {"vpn.sh": bad}), only=["SEC008"])
    rg = scan_tree(_tree(tmp_path / "g", {"vpn.sh": good}), only=["SEC008"])
    got = {(f.evidence[0].line, f.effective_severity) for f in findings(rb, "SEC008", "fail")}
    assert got == {(5, Severity.HIGH), (4, Severity.LOW)}
    assert not findings(rg, "SEC008", "fail")
