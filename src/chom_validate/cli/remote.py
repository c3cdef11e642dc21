"""`chom-validate capture`: save what a run would collect from a host, for offline replay."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from ..config import ConfigError
from ..engine import plan
from ..targets.base import TargetError
from .app import app, fail
from .common import (
    ScanArgs,
    accept_new_host_keys_option,
    build_registry,
    checks_dir_option,
    command_timeout_option,
    config_option,
    connect_timeout_option,
    inventory_option,
    known_hosts_option,
    load_cfg,
    ssh_config_option,
    sudo_option,
)


@app.command("capture")
def capture(
    host: str = typer.Option(..., "--host", "-H", help="Host to capture (as for `all --host`)."),
    output: Path = typer.Option(..., "--output", "-o", help="Snapshot file to write (tar.gz, mode 0600)."),
    inventory: Path | None = inventory_option(),
    known_hosts: Path | None = known_hosts_option(),
    accept_new_host_keys: bool = accept_new_host_keys_option(),
    sudo: bool = sudo_option(),
    ssh_config: Path | None = ssh_config_option(),
    connect_timeout: float = connect_timeout_option(),
    command_timeout: float = command_timeout_option(),
    config: Path | None = config_option(help="Config file (default ./chom-validate.yaml)."),
    checks_dir: list[Path] = checks_dir_option(help="Also collect what these checks need."),
) -> None:
    """Collect a host's files and allow-listed command outputs into a snapshot.

    The snapshot holds everything every check (certified profile) needs, so
    `chom-validate all --snapshot FILE` gives the same results offline, for auditors, CI or a bug report.

    Example:

      chom-validate capture --host landsraad -o landsraad.tar.gz
    """
    from ..targets.inventory import host_target_specs
    from ..targets.snapshot import write_snapshot

    cfg = load_cfg(config)
    registry = build_registry(checks_dir)
    specs = [s for s in registry.select("certified") if s.id not in cfg.disable]
    paths, commands = plan(specs)
    for h in cfg.hosts.values():
        paths.extend(h.collect)
    args = ScanArgs(
        hosts=[host],
        inventory=inventory,
        known_hosts=known_hosts,
        accept_new_host_keys=accept_new_host_keys,
        sudo=sudo,
        ssh_config=ssh_config,
        connect_timeout=connect_timeout,
        command_timeout=command_timeout,
    )
    try:
        spec = host_target_specs(args, cfg)[0]
    except (TargetError, ConfigError) as exc:
        fail(str(exc))
    t0 = time.perf_counter()
    sys.stderr.write(f"[{host}] connecting\n")
    target = None
    try:
        target = spec.open()
        sys.stderr.write(f"[{host}] collecting {len(paths)} extra path(s) and {len(commands)} command(s)\n")
        target.prepare(paths, commands)
        manifest = write_snapshot(target, output, paths=paths, commands=commands)
    except TargetError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    finally:
        if target is not None:
            target.close()
    st = target.stats
    typer.echo(
        f"{output}: {len(manifest['files'])} files, {len(manifest['commands'])} command outputs from {host} "
        f"({st.bytes} bytes, {st.round_trips} round trips, {time.perf_counter() - t0:.2f}s)"
    )
