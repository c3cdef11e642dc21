"""The deployment model's types: per role its services, listeners, users, files, firewall rules,
schedules, backups and secret-bearing files, each fact with where it comes from (``at``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...artifacts import Artifact
from ..templates import Rendering


@dataclass
class Fact:
    at: str  # `script:line`, or `host: command`


@dataclass
class Service(Fact):
    name: str
    unit_path: str | None = None  # where the unit is installed
    generated: str | None = None  # 'heredoc', 'template', 'file', 'loaded'
    state: str | None = None  # live: ActiveState/SubState


@dataclass
class Listener(Fact):
    """A port something listens on: from a config or unit (``artifact``/``line``) or from ``ss``."""

    port: int | None  # None: set from a value the scripts do not fix (``setting`` says which)
    address: str | None = None  # None: every address (or not stated)
    what: str = "?"  # unit, site, config file or process name
    artifact: Artifact | None = field(default=None, repr=False)
    line: int | None = None  # artifact-local line
    raw: str = ""  # the ss line (live)
    setting: str = ""  # the config line or flag as written

    @property
    def process(self) -> str:
        return self.what

    @property
    def loopback(self) -> bool:
        a = (self.address or "").strip("[]")
        return a.startswith("127.") or a in ("::1", "localhost")


@dataclass
class User(Fact):
    name: str
    system: bool = False


@dataclass
class File(Fact):
    path: str
    mode: str | None
    mode_assumed: bool = True
    owner: str | None = None
    op: str = ""
    mode_at: str | None = None
    content_known: bool = False


@dataclass
class FirewallRule(Fact):
    tool: str
    rule: str


@dataclass
class Schedule(Fact):
    kind: str  # cron | script-cron | timer | crontab
    spec: str
    command: str = ""


@dataclass
class Backup(Fact):
    tool: str
    what: str
    where: str | None  # output path or repository
    name_pattern: str | None = None
    restore: bool = False  # True: what a restore/rollback looks for


@dataclass
class Role:
    name: str
    hosts: list[str] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    listeners: list[Listener] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    files: list[File] = field(default_factory=list)
    firewall: dict[str, list[FirewallRule]] = field(default_factory=dict)  # rule set per script/source
    schedules: list[Schedule] = field(default_factory=list)
    backups: list[Backup] = field(default_factory=list)
    secrets: list[File] = field(default_factory=list)


@dataclass
class DeploymentModel:
    source: str  # 'tree' | 'host' | 'snapshot'
    name: str
    roles: list[Role] = field(default_factory=list)
    renderings: list[Rendering] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def role(self, name: str) -> Role | None:
        return next((r for r in self.roles if r.name == name), None)


# -- helpers -----------------------------------------------------------------------------------------


def where(art: Artifact, line: int | None) -> str:
    """`path:line` of an artifact-local line (heredoc and template lines mapped into their file)."""
    if line is None:
        line = 0 if art.embedded else 1
    return f"{art.path}:{line + art.line_offset}"
