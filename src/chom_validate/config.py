"""``chom-validate.yaml``: pydantic models whose errors name the key and the line."""

from __future__ import annotations

import datetime as dt
import re
import stat
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .artifacts.base import ArtifactParseError
from .artifacts.yamlfile import _FastLoader, load_yaml_safe
from .catalog import PILLARS, PROFILES

DEFAULT_CONFIG_NAME = "chom-validate.yaml"
MAX_CONFIG_BYTES = 32 << 20  # a config is a few KB; this only bounds what a wrong --config can cost


class ConfigError(Exception):
    """A config problem; the message names the file, line and key. Exit code 2."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))  # one line, whatever it quotes


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


_COLLECT_PATH = re.compile(r"^/?[A-Za-z0-9@._+,/*?-]+$")  # what the remote tar/SFTP collector accepts


def _collect_paths(v: list[str]) -> list[str]:
    for p in v:
        if not _COLLECT_PATH.match(p) or ".." in p.split("/"):
            raise ValueError(
                f"{p!r}: a host path or glob of letters, digits and @._+,/*?- only (no spaces, no '..')"
            )
    return v


class CollectConfig(_Strict):
    """What SSH collection reads on a host: paths or one-level globs, relative to the path prefix."""

    include: list[str] = Field(default_factory=list, description="Extra paths to collect (e.g. opt/myapp)")
    exclude: list[str] = Field(
        default_factory=list, description="tar-style globs never collected (e.g. '*/cache', 'etc/nginx/ssl')"
    )

    _paths = field_validator("include", "exclude")(classmethod(lambda cls, v: _collect_paths(v)))


class RoleConfig(_Strict):
    collect: CollectConfig = Field(default_factory=CollectConfig)


class HostConfig(_Strict):
    address: str | None = Field(None, description="DNS name or IP used to connect (default: the host name)")
    user: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    identity_file: str | None = None
    roles: list[str] = Field(default_factory=list, description="e.g. monitoring, app, db, cache, web")
    path_prefix: str = Field("/", description="Root on the host under which files are read")
    paths: list[str] = Field(
        default_factory=list,
        description="Globs (relative to a scanned tree) of files belonging to this host in a repository",
    )
    collect: list[str] = Field(
        default_factory=list,
        description="Extra host paths to collect over SSH; also accepts {include: [...], exclude: [...]}",
    )
    collect_exclude: list[str] = Field(default_factory=list, exclude=True)
    private_address: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _collect_mapping(cls, data: Any) -> Any:
        # `collect: [paths]` (extra includes) or `collect: {include: [...], exclude: [...]}`
        if isinstance(data, dict) and isinstance(data.get("collect"), dict):
            data = dict(data)
            spec = CollectConfig.model_validate(data.pop("collect"))
            data["collect"], data["collect_exclude"] = spec.include, spec.exclude
        return data

    _collect = field_validator("collect")(classmethod(lambda cls, v: _collect_paths(v)))


class TopologyConfig(_Strict):
    monitoring_hosts: list[str] = Field(
        default_factory=list, description="Hosts that run Prometheus and scrape"
    )
    scrapes: dict[str, list[str]] = Field(
        default_factory=dict, description="scraper host -> hosts it scrapes (default: every host)"
    )


class Band(_Strict):
    name: str
    min: float = Field(ge=0, le=100)


DEFAULT_BANDS = [
    Band(name="EXCELLENT", min=90),
    Band(name="GOOD", min=70),
    Band(name="FAIR", min=50),
    Band(name="POOR", min=30),
    Band(name="CRITICAL", min=0),
]
# Seed 001 (confidence certificate) category weights.
DEFAULT_PILLAR_WEIGHTS = {
    "code_quality": 15.0,
    "security": 25.0,
    "performance": 15.0,
    "reliability": 20.0,
    "observability": 10.0,
    "operations": 10.0,
    "compliance": 5.0,
}
DEFAULT_SEVERITY_WEIGHTS = {"critical": 10.0, "high": 5.0, "medium": 2.0, "low": 1.0, "info": 0.0}
DEFAULT_MIN_SCORE = {"baseline": 50.0, "hardened": 70.0, "certified": 90.0}


class ScoringConfig(_Strict):
    severity_weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_SEVERITY_WEIGHTS))
    pillar_weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_PILLAR_WEIGHTS))
    bands: list[Band] = Field(default_factory=lambda: list(DEFAULT_BANDS))
    min_score: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_MIN_SCORE), description="Gate: minimum overall score per profile"
    )
    critical_blocks: bool = Field(True, description="Gate: any unwaived critical failure fails the run")

    @field_validator("pillar_weights")
    @classmethod
    def _pillars(cls, v: dict[str, float]) -> dict[str, float]:
        bad = sorted(set(v) - set(PILLARS))
        if bad:
            raise ValueError(f"unknown pillar(s) {', '.join(bad)}; known: {', '.join(PILLARS)}")
        merged = dict(DEFAULT_PILLAR_WEIGHTS)
        merged.update(v)
        return merged

    @field_validator("severity_weights")
    @classmethod
    def _sev(cls, v: dict[str, float]) -> dict[str, float]:
        merged = dict(DEFAULT_SEVERITY_WEIGHTS)
        merged.update(v)
        return merged

    @field_validator("bands")
    @classmethod
    def _bands(cls, v: list[Band]) -> list[Band]:
        v = sorted(v, key=lambda b: -b.min)
        if not v or v[-1].min != 0:
            raise ValueError("bands must include one starting at min: 0")
        return v


class Waiver(_Strict):
    check: str = Field(description="Check id, e.g. SYS004")
    target: str = Field("*", description="Glob on target name (host or path)")
    path: str = Field("*", description="Glob on the evidence path")
    reason: str = Field(min_length=3)
    owner: str = Field(min_length=1)
    expires: dt.date


class Config(_Strict):
    version: int = 1
    project: str = "CHOM"
    environment: str = "production"
    profile: str = "hardened"
    hosts: dict[str, HostConfig] = Field(default_factory=dict)
    topology: TopologyConfig = Field(default_factory=TopologyConfig)
    roles: dict[str, RoleConfig] = Field(
        default_factory=dict, description="Per-role settings, e.g. roles.app.collect.include: [opt/chom]"
    )
    include: list[str] = Field(
        default_factory=list,
        description="Globs analysed even when the default scope skips them (tests, vendor, examples)",
    )
    exclude: list[str] = Field(default_factory=list, description="Globs never analysed (gitignore-style)")
    max_file_size: int = Field(5 * 1024 * 1024, ge=1024)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    waivers: list[Waiver] = Field(default_factory=list)
    disable: list[str] = Field(default_factory=list, description="Check ids never run")
    # Per-domain settings; each domain module validates its own section.
    deploy: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, Any] = Field(default_factory=dict)
    systemd: dict[str, Any] = Field(default_factory=dict)
    network: dict[str, Any] = Field(default_factory=dict)
    monitoring: dict[str, Any] = Field(default_factory=dict)
    backup: dict[str, Any] = Field(default_factory=dict)
    dr: dict[str, Any] = Field(default_factory=dict)
    incident: dict[str, Any] = Field(default_factory=dict)
    reports: dict[str, Any] = Field(default_factory=dict)
    ssh: dict[str, Any] = Field(default_factory=dict)
    source: str | None = Field(None, exclude=True)
    waiver_lines: list[int] = Field(default_factory=list, exclude=True)

    @field_validator("profile")
    @classmethod
    def _profile(cls, v: str) -> str:
        if v not in PROFILES:
            raise ValueError(f"unknown profile {v!r}; one of {', '.join(PROFILES)}")
        return v

    def hosts_with_role(self, role: str) -> list[str]:
        return [h for h, c in self.hosts.items() if role in c.roles]

    def host_globs(self) -> dict[str, list[str]]:
        return {h: c.paths for h, c in self.hosts.items() if c.paths}


def _line_map(root: yaml.Node) -> dict[tuple[Any, ...], int]:
    """Key path -> line, for messages. Iterative, and each node is visited once: an alias bomb or
    10k-deep nesting costs its size, not its expansion or the recursion limit."""
    out: dict[tuple[Any, ...], int] = {}
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, tuple[Any, ...]]] = [(root, ())]
    while stack:
        node, prefix = stack.pop()
        out.setdefault(prefix, node.start_mark.line + 1)
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = getattr(k, "value", None)
                if not isinstance(key, str):
                    continue
                out.setdefault((*prefix, key), k.start_mark.line + 1)
                stack.append((v, (*prefix, key)))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                stack.append((item, (*prefix, i)))
    return out


def _compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_FastLoader)
    except yaml.YAMLError:  # already reported by load_yaml_safe
        return None


def load_config(path: Path | None, *, required: bool = False) -> Config:
    """Load and validate a config file; ``None`` (or a missing default) gives the defaults."""
    if path is None:
        default = Path(DEFAULT_CONFIG_NAME)
        if not default.is_file():
            return Config()
        path = default
    try:
        st = path.stat()  # before opening: a FIFO or device must not be opened (it would block)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file (FIFO, socket or device)"
        raise ConfigError(f"{path}: config is {kind}; not read")
    if st.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: config is {st.st_size} bytes, above {MAX_CONFIG_BYTES >> 20} MB; not read")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from None
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ConfigError(f"{path}: config is UTF-16 encoded; save it as UTF-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: config is not UTF-8 text (invalid byte at offset {exc.start})") from None
    if "\x00" in text:
        raise ConfigError(f"{path}: not a YAML text file (NUL bytes)")
    try:
        # Bounded like every artifact: alias bombs are refused, deep nesting is an error, not a crash.
        data = load_yaml_safe(text)
        node = _compose(text)
    except ArtifactParseError as exc:
        where = f":{exc.line}" if exc.line else ""
        raise ConfigError(f"{path}{where}: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: top level must be a mapping of settings, got {type(data).__name__}")
    lines = _line_map(node) if node is not None else {}
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        line = next((lines[loc[:i]] for i in range(len(loc), 0, -1) if loc[:i] in lines), 1)
        key = ".".join(str(p) for p in loc) or "(top level)"
        key = key if key.isprintable() else ascii(key)  # a key holding a newline stays on one line
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        msg = " ".join(str(err["msg"]).split())
        raise ConfigError(f"{path}:{line}: {key}: {msg}{more}") from exc
    cfg.source = str(path)
    cfg.waiver_lines = [lines.get(("waivers", i), 0) for i in range(len(cfg.waivers))]
    return cfg
