"""What one deployment program says about its host: packages and the roles they imply
(``ROLE_HINTS``), listeners in configs and units, backups (what is archived where; what restore
looks for), users created, firewall rules, files written and whether they bear secrets.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from ...artifacts import Artifact
from ...artifacts.firewall import parse_ufw_script
from ..firewall import script_firewall
from ..shell_program import ShellProgram
from ..writes import FileWrite
from .model import Backup, File, FirewallRule, Listener, User, where

# What an installed package, unit or written path says about the role of the host that runs it
# (first match is the role's name; a script matching several has them all).
ROLE_HINTS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rx), role)
    for rx, role in (
        (r"\b(prometheus|alertmanager|grafana|loki|promtail)\b", "observability"),
        (r"\b(nginx|apache2|httpd|caddy|php\d*(\.\d+)?-fpm|php-fpm|gunicorn|uwsgi)\b", "app"),
        (r"\b(mysql|mariadb|postgresql|postgres|redis|memcached|mongodb)(-server)?\b", "database"),
        (r"\b(wireguard|wg-quick|openvpn|strongswan)\b", "vpn"),
        (r"\b(restic|borg|borgbackup|duplicity|rclone)\b", "backup"),
        (r"\b(docker|containerd|rke2|k3s|kubelet|podman)\b", "container-host"),
        (r"\b(postfix|dovecot|exim4?|mailpit)\b", "mail"),
        (r"\bnode[-_]exporter\b", "monitored"),
    )
)
_PKG_MANAGERS = ("apt-get", "apt", "dnf", "yum", "zypper", "apk", "pacman")
_FW_TOOLS = ("iptables", "ip6tables", "nft", "firewall-cmd", "ufw")
_FIELD = r"[\d*/,\-]+|\$\w+|\$\(\([^)]*\)\)"
_CRON_LINE = re.compile(
    rf"^\s*(@\w+|(?:{_FIELD})\s+(?:{_FIELD})\s+(?:{_FIELD})\s+(?:{_FIELD}|[a-zA-Z,]+)\s+(?:{_FIELD}|[a-zA-Z,\-]+))\s+(\S.*)$"
)
# listen settings in configs: nginx, WireGuard, OpenVPN, MySQL, PostgreSQL, Redis, sshd, exporters
_LISTEN_CONF = re.compile(
    r"^\s*(?P<key>listen|Listen|ListenPort|port|bind-address|bind|listen_addresses|ListenAddress|"
    r"http_listen_port|grpc_listen_port|http_port)\s*[=:\s]\s*(?P<val>[^;#\s][^;#]*?)\s*;?\s*$"
)
_LISTEN_FLAG = re.compile(
    r"--?(?:web\.listen-address|listen-address|listen|bind|port|http\.addr|http-port|web\.port)[= ]"
    r"(?P<val>\[?[\w.:*-]*\]?:?\d{2,5})\b"
)
_SECRET_PATH = re.compile(
    r"(?i)(\.env$|\.pem$|\.key$|(^|/)(id_rsa|id_ed25519)|secret|passw|credential|token|\.htpasswd$|"
    r"(^|/)wg\d*\.conf$|\.my\.cnf$|private)"
)
_SECRET_CONTENT = re.compile(r"(?im)^[ \t]*(PrivateKey|password|passwd|secret|api[_-]?key|token)[ \t]*[=:]")
_ARCHIVERS = (
    "tar",
    "mysqldump",
    "mariadb-dump",
    "pg_dump",
    "pg_dumpall",
    "restic",
    "borg",
    "rsync",
    "zip",
    "gzip",
)


def _packages(prog: ShellProgram) -> list[str]:
    out = []
    for _, c in prog.effective_commands():
        if c.name in _PKG_MANAGERS and any(w in ("install", "add", "-S", "-Syu") for w in c.argv[1:3]):
            out += [w for w in c.argv[2:] if not w.startswith(("-", "$")) and w != "install"]
    return sorted(set(out))


def roles_of(words: list[str]) -> list[str]:
    hay = " ".join(words)
    return [role for rx, role in ROLE_HINTS if rx.search(hay)]


def _listeners_in(art: Artifact, what: str) -> list[Listener]:
    out = []
    for i, ln in enumerate(art.lines, 1):
        s = ln.strip()
        if not s or s.startswith(("#", ";", "//")):
            continue
        vals: list[str] = []
        m = _LISTEN_CONF.match(ln)
        if m:
            vals = [m.group("val").split()[0]]
        elif "Exec" in ln or "--" in ln:
            vals = [f.group("val") for f in _LISTEN_FLAG.finditer(ln)]
        for v in vals:
            v = v.strip("\"'")
            addr, _, port = v.rpartition(":")
            if not port.isdigit() and v.isdigit():
                addr, port = "", v
            if port.isdigit():
                p: int | None = int(port)
                if not 0 < int(port) < 65536:
                    continue
            elif re.fullmatch(r"\$\{?\w+\}?", port or v):
                p, addr = None, addr if port else ""
            else:
                continue
            out.append(Listener(where(art, i), p, addr.strip("[]") or None, what, art, i, setting=s[:120]))
    return out


_BACKUP_WORDS = re.compile(r"(?i)backup|restore|rollback|snapshot|dump|archive")


def _in_container(argv: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """`docker run -v HOST:/backup image /bin/tar ...` -> (the inner argv, [(container, host) mounts])."""
    if len(argv) < 3 or argv[0] not in ("docker", "podman") or argv[1] not in ("run", "exec"):
        return argv, []
    mounts = []
    for i, w in enumerate(argv[:-1]):
        if w in ("-v", "--volume") and ":" in argv[i + 1]:
            host, _, rest = argv[i + 1].partition(":")
            mounts.append((rest.split(":", 1)[0], host))
    idx = next((i for i, w in enumerate(argv) if posixpath.basename(w) in _ARCHIVERS), None)
    return (argv[idx:], mounts) if idx is not None else (argv, [])


def _tar_file(argv: list[str]) -> tuple[str | None, bool]:
    """(archive path, extracting) of a tar argv: `-czf X`, `-Pcvpf X`, `-f X`, `--file=X`."""
    extract = False
    for i, w in enumerate(argv[1:], 1):
        if w.startswith("--file="):
            return w.split("=", 1)[1], extract
        if re.fullmatch(r"-?[A-Za-z]+", w) and not w.startswith("--"):
            letters = w.lstrip("-")
            extract = extract or "x" in letters
            if letters.endswith("f") and i + 1 < len(argv):
                return argv[i + 1], extract
    return None, extract


def _backups(prog: ShellProgram) -> list[Backup]:
    out = []
    backupish = bool(_BACKUP_WORDS.search(prog.entry.path))
    for art, c in _commands(prog):
        argv, mounts = _in_container(c.argv)
        name = posixpath.basename(argv[0]) if argv else ""
        if name in ("tar", "rsync", "zip", "gzip") and not (
            backupish or _BACKUP_WORDS.search(c.function or "") or _BACKUP_WORDS.search(c.logical or "")
        ):
            continue  # unpacking a download is not a backup
        if name not in _ARCHIVERS and name not in ("mysql", "psql"):
            continue
        text = c.logical or c.text
        at = where(art, c.line)
        restore = bool(re.search(r"\b(restore|rollback)\b", c.function or ""))
        dest = None
        if name == "tar":
            dest, extract = _tar_file(argv)
            restore = restore or extract
        elif name in ("restic", "borg"):
            sub = next((w for w in argv[1:] if not w.startswith("-")), "")
            if sub in ("restore", "extract", "mount"):
                restore = True
            elif sub not in ("backup", "create"):
                continue
            repo = next((w.split("=", 1)[1] for w in argv if w.startswith(("--repo=", "-r="))), None)
            dest = repo or ("$RESTIC_REPOSITORY" if name == "restic" else None)
        elif name == "rsync":
            dest = argv[-1] if len(argv) > 2 else None
        elif name in ("mysqldump", "mariadb-dump", "pg_dump", "pg_dumpall", "zip", "gzip"):
            dest = next((t for op, t in c.redirects if op in (">", ">>")), None)
        elif name in ("mysql", "psql") and any(op == "<" for op, _ in c.redirects):
            dest = next(t for op, t in c.redirects if op == "<")
            restore = True
        else:
            continue
        for inside, host in mounts:  # the archive path on the host, through the container's mount
            if dest and (dest == inside or dest.startswith(inside.rstrip("/") + "/")):
                dest = host.rstrip("/") + dest[len(inside.rstrip("/")) :]
                break
        resolved = prog.value(dest) if dest else None
        pattern = None
        if dest and resolved is None:
            pattern = re.sub(r"\$\([^)]*\)|\$\{[^}]*\}|\$\w+", "*", dest)
        what = " ".join(w for w in argv[1:] if not w.startswith("-"))[:80] or text[:80]
        out.append(Backup(at, name, what, resolved or dest, pattern, restore))
    return out


def _commands(prog: ShellProgram) -> list[tuple[Artifact, Any]]:
    """Every command as it runs, once: wrapped commands the parser already saw are not repeated."""
    seen: set[tuple[int, int, str]] = set()
    out = []
    for art, c in prog.effective_commands():
        key = (id(art), c.line, c.name)
        if key not in seen:
            seen.add(key)
            out.append((art, c))
    return out


def _users(prog: ShellProgram) -> list[User]:
    out = []
    for art, c in _commands(prog):
        if c.name not in ("useradd", "adduser", "groupadd", "addgroup"):
            continue
        names = [w for w in c.argv[1:] if not w.startswith("-")]
        opts_with_arg = (
            "-d",
            "-s",
            "-g",
            "-G",
            "-c",
            "-u",
            "-m",
            "--home",
            "--shell",
            "--gid",
            "--uid",
            "--gecos",
            "--ingroup",
        )
        args = [
            w
            for i, w in enumerate(c.argv[1:], 1)
            if not w.startswith("-") and c.argv[i - 1] not in opts_with_arg
        ]
        name = args[-1] if args else (names[-1] if names else None)
        if name and c.name.startswith(("user", "add")) and c.name != "addgroup":
            system = any(w in ("-r", "--system") for w in c.argv)
            out.append(User(where(art, c.line), prog.value(name) or name, system))
    return out


def _firewall(prog: ShellProgram) -> list[FirewallRule]:
    out: list[FirewallRule] = []
    seen: set[tuple[str, int]] = set()
    for art, script in prog.units:
        ufw = parse_ufw_script(script)
        for r in ufw.rules if ufw else []:
            key = (art.path, r.line or 0)
            if key not in seen:
                seen.add(key)
                out.append(FirewallRule(where(art, r.line), "ufw", r.text.strip()[:200]))
        if ufw and ufw.default_incoming:
            out.append(
                FirewallRule(where(art, ufw.default_line), "ufw", f"default {ufw.default_incoming} incoming")
            )
        fw = script_firewall(script)
        for nr in fw.rules:
            key = (art.path, nr.line)
            if key in seen:
                continue
            seen.add(key)
            into = "" if nr.origin == "command" else f" (written into {nr.origin})"
            out.append(FirewallRule(where(art, nr.line), "iptables", nr.text.strip()[:200] + into))
        for t in fw.nft_tables:
            for ch in t.chains:
                line = getattr(ch, "line", None)
                pol = getattr(ch, "policy", None)
                out.append(
                    FirewallRule(
                        where(art, line), "nft", f"table {t.family} {t.name} chain {ch.name} policy {pol}"
                    )
                )
        for op in fw.firewall_cmd:
            if not re.search(r"--(add|remove|set|new)-", op.text):
                continue  # queries (`--get-rules`, `--list-all`) change nothing
            out.append(FirewallRule(where(art, op.line), "firewall-cmd", op.text.strip()[:200]))
    # rules run through wrapper functions (`run "ufw allow 22"`)
    for art, c in prog.wrapped_commands():
        if c.name in _FW_TOOLS and (art.path, c.line) not in seen:
            seen.add((art.path, c.line))
            out.append(FirewallRule(where(art, c.line), c.name, c.text.strip()[:200]))
    return sorted(out, key=lambda r: _at_key(r.at))


def _at_key(at: str) -> tuple[str, int]:
    path, _, line = at.rpartition(":")
    return path, int(line) if line.isdigit() else 0


def _is_secret_file(path: str, content: str | None) -> bool:
    return bool(_SECRET_PATH.search(path)) or bool(content and _SECRET_CONTENT.search(content))


def _file(w: FileWrite) -> File:
    mode_at = f"{w.artifact.path}:{w.mode_line + w.artifact.line_offset}" if w.mode_line is not None else None
    return File(w.where, w.path, w.mode, w.mode_assumed, w.owner, w.op, mode_at, w.content is not None)
