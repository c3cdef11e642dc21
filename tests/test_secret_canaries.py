"""Canary property test (issue 18): >= 30 distinct secret forms planted in a generated tree.

Every form must be found by a failing SEC check at its line, and no canary value may appear in any
output format (text, json, sarif, junit, gitlab) nor in any report kind (md, html, json, and PDF
through `pdftotext` when both are available).
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from chom_validate.results import RunReport

from .conftest import scan_tree


def _canary(i: int) -> str:
    """A unique, random-looking value (upper, lower, digits) that no placeholder rule accepts."""
    h = hashlib.sha256(f"canary-{i}".encode()).hexdigest()
    return f"Cz{i:02d}Q{h[:6]}Wk{h[6:10].upper()}m"


def _b64body(i: int) -> str:
    return base64.b64encode(hashlib.sha512(f"key-{i}".encode()).digest()).decode()[:64]


C = {i: _canary(i) for i in range(1, 41)}
BASIC = base64.b64encode(f"ops:{C[15]}".encode()).decode()
AWS_ID = "AKIA" + hashlib.sha256(b"aws").hexdigest()[:16].upper()
AWS_SECRET = base64.b64encode(hashlib.sha256(b"aws-secret").digest()).decode()[:40]
GHP = "ghp_" + base64.b32encode(hashlib.sha256(b"gh").digest()).decode()[:36]
SLACK = (
    "xoxb-283746510293-918273645012-" + base64.b32encode(hashlib.sha256(b"sl").digest()).decode()[:24].lower()
)
HOOK = "T0CNRY1AB/B0CNRY2CD/" + base64.b32encode(hashlib.sha256(b"hook").digest()).decode()[:24]
PD_KEY = hashlib.md5(b"pagerduty").hexdigest()[:16] + "k9z8y7x6w5v4u3t2"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    + base64.urlsafe_b64encode(b'{"sub":"ops","role":"admin-canary"}').decode().rstrip("=")
    + "."
    + base64.urlsafe_b64encode(hashlib.sha256(b"jwt").digest()).decode().rstrip("=")
)
STRIPE = "sk_live_" + hashlib.sha256(b"stripe").hexdigest()[:24]
SSH_BODY = [_b64body(1), _b64body(2)]
PEM_BODY = [_b64body(3), _b64body(4)]

# (file, lines); a form is (file, 1-based line, canary)
SCRIPT = [
    "#!/usr/bin/env bash",
    "set -euo pipefail",
    f'htpasswd -b -c /etc/nginx/.htpasswd admin "{C[1]}"',
    f"htpasswd -bc /etc/nginx/.htpasswd_prom admin {C[2]}",
    f"htpasswd -nb admin {C[3]} > /etc/nginx/.htpasswd_am",
    f"mysql -u root -p{C[4]} -e 'SELECT 1'",
    f"mysqldump --password={C[5]} app > /var/backups/app.sql",
    f"curl -fsS -u deploy:{C[6]} https://ci.internal/hook",
    f'curl -fsS -H "Authorization: Bearer {C[7]}" https://api.internal/v1/deploy',
    f"export API_TOKEN={C[8]}",
    f"sshpass -p {C[9]} ssh deploy@web1 true",
    f"PGPASSWORD={C[10]} psql -h db -U app -c 'SELECT 1'",
    f"redis-cli -a {C[11]} ping",
    f"gpg --batch --passphrase {C[12]} -d /var/backups/app.sql.gpg",
    f"execute \"mysql -u root -p{C[13]} -e 'FLUSH PRIVILEGES'\"",
    "cat > /etc/app/db.conf <<EOF",
    f"password={C[14]}",
    "EOF",
    f'curl -fsS -H "Authorization: Basic {BASIC}" https://registry.internal/v2/',
    f"openssl rsa -in /etc/ssl/app.key -passin pass:{C[16]} -out /etc/ssl/app.pem",
    "cat > /etc/app/mail.yml <<EOF",
    f'smtp_password: "{C[17]}"',
    "EOF",
    "cat > /root/.ssh/id_ed25519 <<'EOF'",
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    *SSH_BODY,
    "-----END OPENSSH PRIVATE KEY-----",
    "EOF",
    f"mariabackup --backup --user root --password {C[18]} --target-dir /backup",
    f"curl -fsS https://ops:{C[19]}@artifacts.internal/release.tgz -o /tmp/r.tgz",
]
ENV = [
    f"DB_PASSWORD={C[20]}",
    f"MONGO_URL=mongodb://app:{C[21]}@db:27017/app",
    f"DATA_SOURCE_NAME=exporter:{C[22]}@(localhost:3306)/",
    f"AWS_ACCESS_KEY_ID={AWS_ID}",
    f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}",
    f"GITHUB_TOKEN={GHP}",
    f"SESSION_TOKEN={JWT}",
    f"STRIPE_KEY={STRIPE}",
]
COMPOSE = [
    "services:",
    "  db:",
    "    image: mariadb:11",
    "    environment:",
    f"      - MYSQL_ROOT_PASSWORD={C[23]}",
    "  cache:",
    "    image: redis:7",
    "    environment:",
    f"      REDIS_PASSWORD: {C[24]}",
]
ALERTMANAGER = [
    "global:",
    f"  smtp_auth_password: '{C[25]}'",
    f"  slack_api_url: 'https://hooks.slack.com/services/{HOOK}'",
    "route:",
    "  receiver: pager",
    "receivers:",
    "  - name: pager",
    "    pagerduty_configs:",
    f"      - service_key: {PD_KEY}",
    "    slack_configs:",
    f"      - api_url: https://hooks.slack.com/services/{HOOK}",
    "        channel: '#ops'",
    f"        http_config: {{authorization: {{credentials: '{SLACK}'}}}}",
]
UNIT = [
    "[Unit]",
    "Description=app exporter",
    "[Service]",
    "ExecStart=/usr/local/bin/exporter",
    f"Environment=DB_PASSWORD={C[26]}",
    "[Install]",
    "WantedBy=multi-user.target",
]
JSON = ["{", f'  "password": "{C[27]}",', '  "user": "app"', "}"]
DATASOURCE = [
    "apiVersion: 1",
    "datasources:",
    "  - name: mysql",
    "    type: mysql",
    "    secureJsonData:",
    f"      password: {C[28]}",
]
K8S = [
    "apiVersion: v1",
    "kind: Secret",
    "stringData:",
    "  tls.key: |",
    "    -----BEGIN RSA PRIVATE KEY-----",
    *(f"    {b}" for b in PEM_BODY),
    "    -----END RSA PRIVATE KEY-----",
    f"  api_key: {C[29]}",
]
FILES = {
    "deploy/deploy.sh": SCRIPT,
    "app/.env": ENV,
    "docker-compose.yml": COMPOSE,
    "monitoring/alertmanager.yml": ALERTMANAGER,
    "systemd/exporter.service": UNIT,
    "app/config.json": JSON,
    "grafana/provisioning/datasources/mysql.yaml": DATASOURCE,
    "k8s/tls-secret.yaml": K8S,
}


def _forms() -> list[tuple[str, int, str]]:
    """(file, line, canary) for every planted form; the canary is the secret text on that line."""
    out = []
    for path, lines in FILES.items():
        for i, ln in enumerate(lines, 1):
            for v in (*C.values(), BASIC, AWS_ID, AWS_SECRET, GHP, SLACK, HOOK, PD_KEY, JWT, STRIPE):
                if v in ln:
                    out.append((path, i, v))
                    break
            if "PRIVATE KEY-----" in ln and "BEGIN" in ln:
                body = lines[i]
                out.append((path, i, body.strip()))
    return out


FORMS = _forms()
CANARIES = sorted({v for _, _, v in FORMS} | set(SSH_BODY) | set(PEM_BODY) | {C[15]})
FORMATS = ["text", "json", "sarif", "junit", "gitlab"]


def _write(root: Path) -> Path:
    for rel, lines in FILES.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("\n".join(lines) + "\n")
    return root


def _leaks(text: str) -> list[str]:
    return [c for c in CANARIES if c in text]


def test_at_least_thirty_distinct_forms() -> None:
    assert len(FORMS) >= 30, len(FORMS)
    assert len({(f, ln) for f, ln, _ in FORMS}) == len(FORMS)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("canary") / "t")


@pytest.fixture(scope="module")
def report(tree: Path) -> RunReport:
    return scan_tree(tree)


@pytest.mark.parametrize(("path", "line", "value"), FORMS, ids=[f"{p}:{ln}" for p, ln, _ in FORMS])
def test_every_form_is_found_by_a_sec_check(report: RunReport, path: str, line: int, value: str) -> None:
    hits = {
        (e.path, e.line)
        for f in report.findings
        if f.check_id.startswith("SEC") and f.status == "fail"
        for e in f.evidence
    }
    assert (path, line) in hits, f"no SEC failure at {path}:{line}"


def test_in_process_findings_hold_no_canary(report: RunReport) -> None:
    from chom_validate.outputs.json import to_json

    assert not _leaks(to_json(report))


@pytest.fixture(scope="module")
def outputs(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from chom_validate.outputs.report import KINDS

    exe = shutil.which("chom-validate", path=str(Path(__import__("sys").executable).parent))
    assert exe
    out: dict[str, str] = {}
    work = tmp_path_factory.mktemp("canary-out")
    env = {**__import__("os").environ, "NO_COLOR": "1"}
    for fmt in FORMATS:
        p = subprocess.run(
            [exe, "all", "--path", str(tree), "--format", fmt, "--profile", "certified"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert p.returncode in (0, 1), p.stderr[-2000:]
        out[f"--format {fmt}"] = p.stdout + p.stderr
    results = work / "r.json"
    p = subprocess.run(
        [exe, "all", "--path", str(tree), "--format", "json", "-o", str(results), "--profile", "certified"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert p.returncode in (0, 1), p.stderr[-2000:]
    out["results.json"] = results.read_text()
    pdf_ok = shutil.which("pdftotext") is not None and _pdf_available()
    for kind in KINDS:
        for fmt in ("md", "html", "json", *(("pdf",) if pdf_ok else ())):
            dest = work / f"{kind}.{fmt}"
            r = subprocess.run(
                [
                    exe,
                    "report",
                    "--kind",
                    kind,
                    "--format",
                    fmt,
                    "--from",
                    str(results),
                    "-o",
                    str(dest),
                    "--now",
                    "2026-11-29",
                ],
                capture_output=True,
                text=True,
                env=env,
                timeout=300,
            )
            assert r.returncode == 0, r.stderr[-2000:]
            if fmt == "pdf":
                txt = subprocess.run(
                    ["pdftotext", str(dest), "-"], capture_output=True, text=True, timeout=60
                )
                out[f"report {kind}.pdf"] = txt.stdout
            else:
                out[f"report {kind}.{fmt}"] = dest.read_text() + r.stdout + r.stderr
    for check_id in ("SEC001", "SEC002"):
        r = subprocess.run([exe, "explain", check_id], capture_output=True, text=True, env=env, timeout=60)
        out[f"explain {check_id}"] = r.stdout + r.stderr
    return out


def _pdf_available() -> bool:
    from chom_validate.outputs import pdf

    return pdf.available()


def test_every_output_and_report_kind_is_clean(outputs: dict[str, str]) -> None:
    leaked = {where: _leaks(text) for where, text in outputs.items() if _leaks(text)}
    assert not leaked, leaked
    assert any("REDACTED" in t for w, t in outputs.items() if w.startswith("report validation-report"))


Runner = Callable[..., object]
