"""`chom-validate model`: what the deployment does, read from its scripts, before any finding."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import typer

from ..artifacts.discover import discover
from ..config import load_config
from ..engine import RunOptions, ScanContext
from ..facts.shell_program import ShellProgram, shell_programs
from ..facts.writes import program_writes
from ..targets.local import LocalTree
from .app import app, fail

# What an installed package or unit says about the role of the host that runs the script.
_ROLE_HINTS: tuple[tuple[str, str], ...] = (
    (r"prometheus|alertmanager|grafana|loki|node[-_]exporter", "observability"),
    (r"nginx|apache2|httpd|php\d*(\.\d+)?-fpm|php-fpm", "web/app"),
    (r"mysql|mariadb|postgresql|redis", "database"),
    (r"wireguard|wg-quick|openvpn|strongswan", "vpn"),
    (r"restic|borg|duplicity|backup", "backup"),
    (r"docker|containerd|rke2|k3s|kubelet", "container-host"),
    (r"postfix|dovecot|mailpit", "mail"),
)
_FIREWALL = ("iptables", "ip6tables", "nft", "firewall-cmd", "ufw")
# listen settings in generated configs: WireGuard, OpenVPN, nginx, MySQL, PostgreSQL, Redis, sshd
_LISTEN = re.compile(
    r"^\s*(ListenPort|listen|Listen|port|bind-address|bind|listen_addresses|ListenAddress)\s*[=:\s]\s*\S+"
)
_CRON_LINE = re.compile(r"^\s*(@\w+|[\d*$(][^ ]*\s+\S+\s+\S+\s+\S+\s+\S+)\s+\S")


def _packages(prog: ShellProgram) -> list[str]:
    out = []
    for _, c in prog.effective_commands():
        if c.name in ("apt-get", "apt", "dnf", "yum", "zypper", "apk", "pacman") and any(
            w in ("install", "add", "-S", "-Syu") for w in c.argv[1:3]
        ):
            out += [w for w in c.argv[2:] if not w.startswith(("-", "$")) and w != "install"]
    return sorted(set(out))


def _program_model(prog: ShellProgram) -> dict[str, Any]:
    writes = program_writes(prog)
    pkgs = _packages(prog)
    units: list[dict[str, Any]] = []
    services: set[str] = set()
    firewall: list[dict[str, Any]] = []
    schedules: list[dict[str, Any]] = []
    for art, c in prog.effective_commands():
        if (
            c.name == "systemctl"
            and len(c.argv) > 2
            and c.argv[1] in ("enable", "start", "restart", "reload")
        ):
            services.update(w for w in c.argv[2:] if not w.startswith("-"))
        if c.name in _FIREWALL and c.words[:1] != ["command"]:
            firewall.append({"at": f"{art.path}:{c.line + art.line_offset}", "command": c.text[:200]})
        if c.name in ("echo", "printf") and ("crontab" in c.logical or "/etc/cron" in c.logical):
            text = " ".join(c.argv[1:])
            if _CRON_LINE.match(text):
                schedules.append({"at": f"{art.path}:{c.line + art.line_offset}", "cron": text})
    generated = []
    for w in writes:
        entry: dict[str, Any] = {
            "path": w.path,
            "op": w.op,
            "at": w.where,
            "mode": w.mode,
            "mode_assumed": w.mode_assumed,
        }
        if w.mode_line is not None:
            entry["mode_at"] = f"{w.artifact.path}:{w.mode_line + w.artifact.line_offset}"
        if w.owner:
            entry["owner"] = w.owner
        generated.append(entry)
        if re.search(r"\.(service|timer|socket)$", w.path):
            units.append({"unit": w.path.rsplit("/", 1)[-1], "path": w.path, "at": w.where})
            services.add(w.path.rsplit("/", 1)[-1])
        if "/etc/cron" in w.path and w.content:
            for ln in w.content.splitlines():
                if _CRON_LINE.match(ln):
                    schedules.append({"at": w.where, "cron": ln.strip(), "file": w.path})
        if (w.content and w.path.endswith(".sh")) or (w.content or "").startswith("#!"):
            for ln in (w.content or "").splitlines():
                if ln.split(" ", 1)[0] in _FIREWALL:
                    firewall.append({"at": w.where, "command": ln.strip()[:200], "in": w.path})
    listeners = []
    for w in writes:
        for i, ln in enumerate((w.content or "").splitlines()):
            m = _LISTEN.match(ln)
            if m:
                listeners.append({"in": w.path, "setting": ln.strip()[:120], "at": w.where, "body_line": i + 1})
    hay = " ".join(pkgs + sorted(services))
    roles = sorted({role for rx, role in _ROLE_HINTS if re.search(rx, hay)})
    return {
        "script": prog.entry.label if prog.entry.embedded else prog.entry.path,
        "interpreter": prog.interpreter,
        "sources": [a.path for a, _ in prog.units[1:]],
        "roles": roles,
        "packages": pkgs,
        "services": sorted(services),
        "units": units,
        "writes": generated,
        "listeners": listeners,
        "firewall": firewall,
        "schedules": schedules,
        "functions": len(prog.functions),
    }


def build_model(path: Path) -> dict[str, Any]:
    """The deployment model of a repository tree (no checks run)."""
    target = LocalTree(path)
    target.prepare([], [])
    cfg = load_config(None)
    index = discover(target, include=cfg.include, exclude=cfg.exclude, host_globs=cfg.host_globs())
    ctx = ScanContext(target=target, config=cfg, index=index, options=RunOptions())
    programs = [p for p in shell_programs(ctx) if not p.entry.embedded]
    return {"path": str(path), "programs": [_program_model(p) for p in programs]}


def _text(model: dict[str, Any]) -> str:
    out = [f"Deployment model of {model['path']}"]
    for p in model["programs"]:
        out.append("")
        roles = ", ".join(p["roles"]) or "unknown role"
        out.append(f"{p['script']} ({p['interpreter']}; {roles})")
        if p["sources"]:
            out.append(f"  sources: {', '.join(p['sources'])}")
        if p["packages"]:
            out.append(f"  packages: {' '.join(p['packages'])}")
        if p["services"]:
            out.append(f"  services: {' '.join(p['services'])}")
        for u in p["units"]:
            out.append(f"  unit {u['unit']} generated at {u['at']}")
        for w in p["writes"]:
            mode = f"{w['mode']}{' (umask default)' if w['mode_assumed'] else ''}"
            out.append(f"  writes {w['path']} ({w['op']}, mode {mode}) at {w['at']}")
        for li in p["listeners"]:
            out.append(f"  listens {li['setting']} in {li['in']} ({li['at']})")
        for f in p["firewall"]:
            out.append(f"  firewall {f['command'][:100]} at {f['at']}")
        for s in p["schedules"]:
            out.append(f"  schedule {s['cron'][:100]} at {s['at']}")
    return "\n".join(out)


@app.command("model")
def model(
    path: Path = typer.Option(..., "--path", help="Repository tree to read."),
    fmt: str = typer.Option("text", "--format", help="text or json."),
) -> None:
    """Show what the deployment does: per script, its role, units, writes with modes, firewall and schedules."""
    if not path.is_dir():
        fail(f"--path {path} is not a directory")
    if fmt not in ("text", "json"):
        fail("--format must be text or json")
    data = build_model(path)
    typer.echo(json.dumps(data, indent=2) if fmt == "json" else _text(data))
