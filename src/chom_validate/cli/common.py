"""Shared plumbing for commands that scan: config, registry, targets, engine, writers."""

from __future__ import annotations

import datetime as dt
import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..config import DEFAULT_CONFIG_NAME, Config, ConfigError, load_config
from ..engine import RunOptions, TargetSpec, scan
from ..registry import CATEGORIES, PROFILES, Registry, load_registry
from ..results import RunReport
from ..targets.base import TargetError
from ..targets.local import LocalTree
from .app import fail


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
