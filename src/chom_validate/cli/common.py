"""Shared plumbing for commands that scan: config, registry, targets, engine, writers."""

from __future__ import annotations

import datetime as dt
import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from ..catalog import CATEGORIES, PROFILES
from ..config import DEFAULT_CONFIG_NAME, Config, ConfigError, load_config
from ..engine import RunOptions, TargetSpec, scan
from ..registry import Registry, load_registry
from ..results import RunReport
from ..targets.base import TargetError
from ..targets.local import LocalTree
from .app import fail

# Options shared by the commands that scan (typer needs them spelled out per command, so each
# command calls these factories). Defaults, flags, help and panels are those of `all`; a command
# whose option means something narrower passes its own help.
TARGET_PANEL = "Target"
SSH_PANEL = "SSH"


def path_option() -> Any:
    return typer.Option(
        None,
        "--path",
        "-p",
        help="Scan a local tree (repository checkout or extracted host filesystem).",
        rich_help_panel=TARGET_PANEL,
    )


def host_option() -> Any:
    return typer.Option(
        [],
        "--host",
        "-H",
        help="Scan a host over SSH (repeatable). Resolved from "
        "chom-validate.yaml, --inventory or ~/.ssh/config.",
        rich_help_panel=TARGET_PANEL,
    )


def hosts_option() -> Any:
    return typer.Option(
        [],
        "--hosts",
        help="Scan every host of an inventory group/role, or 'all'.",
        rich_help_panel=TARGET_PANEL,
    )


def snapshot_option() -> Any:
    return typer.Option(
        None, "--snapshot", help="Replay a snapshot written by `capture`.", rich_help_panel=TARGET_PANEL
    )


def inventory_option() -> Any:
    return typer.Option(
        None, "--inventory", "-i", help="Ansible inventory (INI or YAML).", rich_help_panel=SSH_PANEL
    )


def known_hosts_option() -> Any:
    return typer.Option(
        None,
        "--known-hosts",
        help="known_hosts file (default ~/.ssh/known_hosts).",
        rich_help_panel=SSH_PANEL,
    )


def accept_new_host_keys_option() -> Any:
    return typer.Option(
        False,
        "--accept-new-host-keys",
        help="Store keys of hosts never seen before (a changed key is always refused).",
        rich_help_panel=SSH_PANEL,
    )


def sudo_option() -> Any:
    return typer.Option(
        False, "--sudo", help="Run allow-listed read commands with `sudo -n`.", rich_help_panel=SSH_PANEL
    )


def ssh_config_option() -> Any:
    return typer.Option(
        None, "--ssh-config", help="ssh_config file (default ~/.ssh/config).", rich_help_panel=SSH_PANEL
    )


def connect_timeout_option() -> Any:
    return typer.Option(
        10.0, "--connect-timeout", help="Seconds to connect and authenticate.", rich_help_panel=SSH_PANEL
    )


def command_timeout_option() -> Any:
    return typer.Option(
        30.0, "--command-timeout", help="Seconds per remote command.", rich_help_panel=SSH_PANEL
    )


def config_option(
    help: str = "Config file (default: ./chom-validate.yaml, else chom-validate.yaml at the root of --path).",
) -> Any:
    # readable=False: an unreadable file is load_config's one-line error naming it, not click's
    # three-line usage error
    return typer.Option(None, "--config", "-c", help=help, readable=False)


def profile_option(
    help: str = "baseline, hardened or certified (default from config, else hardened).",
) -> Any:
    return typer.Option(None, "--profile", help=help)


def category_option() -> Any:
    return typer.Option([], "--category", help="Only checks of this category (repeatable).")


def check_option() -> Any:
    return typer.Option([], "--check", help="Only this check id (repeatable).")


def checks_dir_option(help: str = "Load extra check modules from a directory.") -> Any:
    return typer.Option([], "--checks-dir", help=help)


def no_waivers_option(help: str = "Auditor view: ignore every waiver.") -> Any:
    return typer.Option(False, "--no-waivers", help=help, rich_help_panel="CI")


def now_option(hidden: bool = True) -> Any:
    return typer.Option(None, "--now", help="Fixed clock (ISO date) for reproducible runs.", hidden=hidden)


def no_color_option() -> Any:
    return typer.Option(False, "--no-color", help="Plain output (also NO_COLOR=1 or when not a TTY).")


@dataclass
class ScanArgs:
    path: Path | None = None
    hosts: list[str] = field(default_factory=list)
    host_groups: list[str] = field(default_factory=list)
    snapshot: Path | None = None
    inventory: Path | None = None
    known_hosts: Path | None = None
    accept_new_host_keys: bool = False
    sudo: bool = False
    ssh_config: Path | None = None
    connect_timeout: float = 10.0
    command_timeout: float = 30.0
    config: Path | None = None
    profile: str | None = None
    categories: list[str] = field(default_factory=list)
    only: list[str] = field(default_factory=list)
    checks_dirs: list[Path] = field(default_factory=list)
    jobs: int = 4
    no_waivers: bool = False
    baseline: Path | None = None
    changed_only: str | None = None
    now: str | None = None
    prometheus_url: str | None = None
    probe_http: list[str] = field(default_factory=list)
    no_cache: bool = False
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)


def include_option() -> Any:
    return typer.Option(
        [],
        "--include",
        help="Analyse files matching this glob even if the default scope skips them "
        "(tests, vendored code, examples); `**/*.md` also matches README.md (repeatable).",
    )


def exclude_option() -> Any:
    return typer.Option([], "--exclude", help="Never analyse files matching this glob (repeatable).")


def parse_now(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        d = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(f"--now {value!r}: expected an ISO date or datetime such as 2026-11-29 or 2026-11-29T12:00:00Z")
    return d if d.tzinfo else d.replace(tzinfo=dt.UTC)


def load_cfg(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        fail(str(exc))


def build_registry(checks_dirs: list[Path]) -> Registry:
    for d in checks_dirs:
        if not d.is_dir():
            fail(f"--checks-dir {d}: not a directory")
    return load_registry(checks_dirs)


def _optional(module: str, what: str):  # type: ignore[no-untyped-def]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            fail(f"{what} is not yet supported in this version")
        raise


def build_targets(args: ScanArgs, cfg: Config) -> list[TargetSpec]:
    chosen = sum(bool(x) for x in (args.path, args.hosts or args.host_groups, args.snapshot))
    if chosen != 1:
        fail("give exactly one of --path DIR, --host NAME (or --hosts GROUP) and --snapshot FILE")
    if args.path is not None:
        p = args.path
        try:
            LocalTree(p, max_file_size=cfg.max_file_size)  # validate now: a missing path is exit 2
        except TargetError as exc:
            fail(f"--path {exc}")
        return [
            TargetSpec(name=str(p), kind="local", open=lambda: LocalTree(p, max_file_size=cfg.max_file_size))
        ]
    if args.snapshot is not None:
        mod = _optional("chom_validate.targets.snapshot", "--snapshot")
        try:
            return [mod.snapshot_target_spec(args.snapshot, cfg)]
        except TargetError as exc:
            fail(f"--snapshot {exc}")
    mod = _optional("chom_validate.targets.inventory", "--host (remote hosts over SSH)")
    try:
        return list(mod.host_target_specs(args, cfg))
    except (TargetError, ConfigError) as exc:
        fail(str(exc))


def default_config_path(args: ScanArgs) -> Path | None:
    """--config, else ./chom-validate.yaml, else the scanned tree's own chom-validate.yaml."""
    if args.config is not None:
        return args.config
    if Path(DEFAULT_CONFIG_NAME).is_file():
        return Path(DEFAULT_CONFIG_NAME)
    if args.path is not None and (args.path / DEFAULT_CONFIG_NAME).is_file():
        return args.path / DEFAULT_CONFIG_NAME
    return None


def run_scan(args: ScanArgs, progress=None) -> tuple[RunReport, Config]:  # type: ignore[no-untyped-def]
    cfg = load_cfg(default_config_path(args))
    if args.include or args.exclude:  # the command line adds to the config's scope globs
        cfg = cfg.model_copy(
            update={"include": [*cfg.include, *args.include], "exclude": [*cfg.exclude, *args.exclude]}
        )
    profile = args.profile or cfg.profile
    if profile not in PROFILES:
        fail(f"--profile {profile!r}: one of {', '.join(PROFILES)}")
    bad = [c for c in args.categories if c not in CATEGORIES]
    if bad:
        fail(f"--category {bad[0]!r}: one of {', '.join(CATEGORIES)}")
    registry = build_registry(args.checks_dirs)
    unknown = [c for c in args.only if c not in registry.checks]
    if unknown:
        fail(f"--check {unknown[0]}: no such check (see `chom-validate list`)")
    targets = build_targets(args, cfg)
    extra: dict[str, object] = {
        "prometheus_url": args.prometheus_url,
        "probe_http": args.probe_http,
        "baseline": args.baseline,
        "changed_only": args.changed_only,
        "no_cache": args.no_cache,
        "known_checks": frozenset(registry.checks),  # waivers naming no check are config errors
    }
    options = RunOptions(
        profile=profile,
        categories=args.categories,
        only=args.only,
        jobs=max(1, args.jobs),
        use_waivers=not args.no_waivers,
        now=parse_now(args.now),
        extra=extra,
    )
    hook = sys.modules.get("chom_validate.governance")
    prepare = getattr(hook, "prepare_options", None)
    if prepare is not None:
        try:
            prepare(options, cfg, args)
        except (ValueError, OSError) as exc:
            fail(str(exc))
    return scan(targets, registry, cfg, options, progress=progress), cfg
