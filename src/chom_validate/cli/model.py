"""`chom-validate model`: what the deployment does, per host or role, before any finding.

Reads a repository (``--path``), a host over SSH (``--host``) or a snapshot (``--snapshot``) and
prints the deployment model of ``facts/hosts/``: per role the services and units (generated ones
with the heredoc or template line), listeners, users, files with modes, one firewall rule set per
script, schedules, backups, secret-bearing files, and the templates rendered with the values they
rest on. Every fact carries ``script:line`` (or ``host: command``).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import typer

from ..engine import PARSE_BUDGET_SECONDS, _open_target, parse_all, plan, render
from ..facts.hosts import LIVE_COMMANDS, TIMERS, DeploymentModel, deployment_model
from ..facts.templates import Rendering
from .app import app, fail
from .common import (
    ScanArgs,
    build_registry,
    build_targets,
    config_option,
    default_config_path,
    host_option,
    known_hosts_option,
    load_cfg,
    path_option,
    snapshot_option,
    ssh_config_option,
)

_HIDDEN = {"artifact", "template", "raw"}


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {
            f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.name not in _HIDDEN
        }
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _rendering(r: Rendering) -> dict[str, Any]:
    return {
        "template": r.template.path,
        "how": r.how,
        "at": r.site,
        "install_path": r.install_path,
        "kind": r.kind,
        "unknown": r.unknown,
        "values": [_plain(v) for v in r.values],
        "assumed_lines": sorted(r.assumed_lines),
    }


def model_dict(m: DeploymentModel) -> dict[str, Any]:
    return {
        "source": m.source,
        "name": m.name,
        "roles": [_plain(r) for r in m.roles],
        "templates": [_rendering(r) for r in m.renderings],
        "notes": m.notes,
    }


def _text(d: dict[str, Any]) -> str:
    out = [f"Deployment model of {d['name']} ({d['source']})"]
    for r in d["roles"]:
        out.append("")
        hosts = f" on {', '.join(r['hosts'])}" if r["hosts"] else ""
        out.append(f"role {r['name']}{hosts}")
        if r["scripts"]:
            out.append(f"  scripts: {', '.join(r['scripts'])}")
        if r["packages"]:
            out.append(f"  packages: {' '.join(r['packages'])}")
        for s in r["services"]:
            extra = f" [{s['state']}]" if s.get("state") else ""
            path = f" -> {s['unit_path']}" if s.get("unit_path") else ""
            out.append(f"  service {s['name']} ({s['generated']}){path}{extra} at {s['at']}")
        for li in r["listeners"]:
            addr = li["address"] or "*"
            port = li["port"] if li["port"] is not None else f"? ({li['setting']})"
            out.append(f"  listens {addr}:{port} ({li['what']}) at {li['at']}")
        for u in r["users"]:
            out.append(f"  user {u['name']}{' (system)' if u['system'] else ''} at {u['at']}")
        for f in r["files"]:
            mode = f"{f['mode']}{' (umask default)' if f['mode_assumed'] else ''}"
            out.append(f"  writes {f['path']} ({f['op']}, mode {mode}) at {f['at']}")
        for src, rules in r["firewall"].items():
            out.append(f"  firewall rule set of {src}: {len(rules)} rule(s)")
            for fr in rules:
                out.append(f"    {fr['tool']}: {fr['rule'][:100]} at {fr['at']}")
        for s in r["schedules"]:
            out.append(f"  schedule ({s['kind']}) {s['spec']} {s['command'][:80]} at {s['at']}")
        for b in r["backups"]:
            verb = "restore reads" if b["restore"] else "archives"
            pat = f" (name pattern {b['name_pattern']})" if b.get("name_pattern") else ""
            out.append(f"  backup {b['tool']} {verb} {b['where'] or '?'}{pat} at {b['at']}")
        for s in r["secrets"]:
            out.append(f"  secret-bearing {s['path']} mode {s['mode'] or '?'} at {s['at']}")
    if d["templates"]:
        out.append("")
        out.append("templates")
        for t in d["templates"]:
            if t["unknown"]:
                out.append(f"  {t['template']}: unknown ({t['unknown']})")
                continue
            vals = ", ".join(
                f"{v['name']}={v['value']}{' (assumed)' if v['assumed'] else ''}" for v in t["values"][:6]
            )
            by = f" by {t['at']}" if t["at"] else ""
            dest = f" -> {t['install_path']}" if t["install_path"] else ""
            out.append(f"  {t['template']}{dest} ({t['kind']}, {t['how']}{by}): {vals}")
    for n in d["notes"]:
        out.append(f"note: {n}")
    return "\n".join(out)


def build_model(path: Path | None = None, args: ScanArgs | None = None) -> list[dict[str, Any]]:
    """The deployment model of each target (no checks run)."""
    args = args or ScanArgs(path=path)
    cfg = load_cfg(default_config_path(args))
    specs = build_targets(args, cfg)
    paths: list[str] = []
    commands: list[list[str]] = []
    if any(s.kind != "local" for s in specs):  # collect what the checks read, plus the model's commands
        paths, commands = plan(build_registry([]).select("certified", None, None))
        for h in cfg.hosts.values():
            paths.extend(h.collect)
        commands += [list(c) for c in (*LIVE_COMMANDS, TIMERS) if list(c) not in commands]
    out: list[dict[str, Any]] = []
    for ts in specs:
        t0 = time.perf_counter()
        report, ctx, target = _open_target(ts, cfg, paths, commands, None)
        try:
            if ctx is None:
                out.append(
                    {"source": ts.kind, "name": ts.name, "error": report.error, "roles": [], "templates": []}
                )
                continue
            ctx.collect_commands(commands)
            parse_all(ctx.index, PARSE_BUDGET_SECONDS)
            render(ctx)
            d = model_dict(deployment_model(ctx))
            d["seconds"] = round(time.perf_counter() - t0, 3)
            out.append(d)
        finally:
            if target is not None:
                target.close()
    return out


@app.command("model")
def model(
    path: Path | None = path_option(),
    hosts: list[str] = host_option(),
    snapshot: Path | None = snapshot_option(),
    config: Path | None = config_option(),
    known_hosts: Path | None = known_hosts_option(),
    ssh_config: Path | None = ssh_config_option(),
    fmt: str = typer.Option("text", "--format", help="text or json."),
) -> None:
    """Show what the deployment does: per role its services and units, listeners, users, files with
    modes, firewall rule sets, schedules, backups, secret files and rendered templates, each with
    `script:line` (or host + command)."""
    if fmt not in ("text", "json"):
        fail("--format must be text or json")
    if path is not None and not path.is_dir():
        fail(f"--path {path} is not a directory")
    args = ScanArgs(
        path=path,
        hosts=list(hosts),
        snapshot=snapshot,
        config=config,
        known_hosts=known_hosts,
        ssh_config=ssh_config,
    )
    data = build_model(args=args)
    for d in data:
        if d.get("error"):
            typer.echo(f"error: {d['name']}: {d['error']}", err=True)
    if fmt == "json":
        typer.echo(json.dumps(data[0] if len(data) == 1 else data, indent=2))
    else:
        typer.echo("\n\n".join(_text(d) for d in data if not d.get("error")))
    if any(d.get("error") for d in data):
        raise typer.Exit(2)
