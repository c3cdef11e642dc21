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
from .common import ScanArgs, build_registry, load_cfg


@app.command("capture")
def capture(
    host: str = typer.Option(..., "--host", "-H", help="Host to capture (as for `all --host`)."),
    output: Path = typer.Option(..., "--output", "-o", help="Snapshot file to write (tar.gz, mode 0600)."),
    inventory: Path | None = typer.Option(None, "--inventory", "-i", help="Ansible inventory (INI or YAML)."),
    known_hosts: Path | None = typer.Option(
        None, "--known-hosts", help="known_hosts file (default ~/.ssh/known_hosts)."
    ),
    accept_new_host_keys: bool = typer.Option(
        False, "--accept-new-host-keys", help="Store the key of a host never seen before."
    ),
    sudo: bool = typer.Option(False, "--sudo", help="Run allow-listed read commands with `sudo -n`."),
    ssh_config: Path | None = typer.Option(
        None, "--ssh-config", help="ssh_config file (default ~/.ssh/config)."
    ),
    connect_timeout: float = typer.Option(
        10.0, "--connect-timeout", help="Seconds to connect and authenticate."
    ),
    command_timeout: float = typer.Option(30.0, "--command-timeout", help="Seconds per remote command."),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Config file (default ./chom-validate.yaml)."
    ),
    checks_dir: list[Path] = typer.Option([], "--checks-dir", help="Also collect what these checks need."),
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
