"""Recovery facts: the documents that carry the recovery plan (DR plans, runbooks, incident plans),
the RTO/RPO table they state, the stateful components the config's host roles imply, and the
retention the documents promise. Built from parsed Markdown and the config; no I/O.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from ..api import Context
from ..artifacts import Artifact
from ..artifacts.docs import (
    Document,
    Table,
    TableRow,
    is_dr_plan,
    is_incident_plan,
    is_recovery_doc,
    is_runbook,
    is_runbook_doc,
    parse_duration,
)
from ..findings import Evidence

# component -> (label, regex over a table cell / text naming it)
COMPONENTS: dict[str, tuple[str, str]] = {
    "mysql": ("MySQL/MariaDB", r"\b(mysql|mariadb|database|db)\b"),
    "postgresql": ("PostgreSQL", r"\b(postgres(ql)?|pg)\b"),
    "app_storage": ("App storage", r"\b(storage|uploads|user files|media)\b"),
    "redis": ("Redis", r"\bredis\b"),
    "grafana": ("Grafana data", r"\bgrafana\b"),
    "prometheus": ("Prometheus TSDB", r"\b(prometheus|tsdb)\b"),
    "loki": ("Loki", r"\bloki\b"),
}


ROLE_COMPONENTS = {
    "db": ["mysql"],
    "app": ["app_storage"],
    "cache": ["redis"],
    "monitoring": ["grafana", "prometheus", "loki"],
}


def docs(ctx: Context) -> list[tuple[Artifact, Document]]:
    return [(a, d) for a, d in ctx.parsed("markdown") if isinstance(d, Document)]


def dr_plans(ctx: Context) -> list[tuple[Artifact, Document]]:
    return [(a, d) for a, d in docs(ctx) if is_dr_plan(a.path, d)]


def incident_plans(ctx: Context) -> list[tuple[Artifact, Document]]:
    return [(a, d) for a, d in docs(ctx) if is_incident_plan(a.path, d)]


def runbooks(ctx: Context) -> list[tuple[Artifact, Document]]:
    return [(a, d) for a, d in docs(ctx) if is_runbook(a.path)]


def reference_docs(ctx: Context) -> list[tuple[Artifact, Document]]:
    """Documents whose commands people run under stress: DR plans, runbooks (by place, name or
    content), incident plans and restore/recovery/rollback procedures. Proposals, changelogs and
    READMEs without such a section are not held to their references."""
    return [
        (a, d)
        for a, d in docs(ctx)
        if is_dr_plan(a.path, d)
        or is_runbook_doc(a.path, d)
        or is_incident_plan(a.path, d)
        or is_recovery_doc(a.path, d)
    ]


@dataclass
class ObjectiveRow:
    component: str | None  # key of COMPONENTS, None when the row names something else
    name: str
    row: TableRow
    rto: str | None
    rpo: str | None

    @property
    def rpo_seconds(self) -> int | None:
        return parse_duration(self.rpo) if self.rpo else None


def component_of(text: str) -> str | None:
    for key, (_, rx) in COMPONENTS.items():
        if re.search(rx, text, re.I):
            return key
    return None


def objective_tables(doc: Document) -> list[Table]:
    return [t for t in doc.tables if t.column("rpo", "recovery point") is not None]


def _cell(row: TableRow, i: int | None) -> str | None:
    return row.cells[i] if i is not None and i < len(row.cells) else None


def objective_rows(doc: Document) -> list[ObjectiveRow]:
    out = []
    for t in objective_tables(doc):
        rpo_i = t.column("rpo", "recovery point")
        rto_i = t.column("rto", "recovery time")
        name_i = t.column("component", "service", "system", "asset", "data")
        name_i = 0 if name_i is None else name_i
        for r in t.rows:
            name = _cell(r, name_i) or ""
            out.append(ObjectiveRow(component_of(name), name, r, _cell(r, rto_i), _cell(r, rpo_i)))
    return out


@dataclass
class Component:
    key: str
    host: str | None
    evidence: list[Evidence] = field(default_factory=list)
    why: str = ""

    @property
    def label(self) -> str:
        return COMPONENTS.get(self.key, (self.key, ""))[0]


def _config_evidence(ctx: Context, host: str) -> Evidence:
    src = ctx.config.source
    path = posixpath.basename(src) if src else "chom-validate.yaml"
    excerpt = f"{host}: roles {ctx.config.hosts[host].roles}" if host in ctx.config.hosts else None
    return Evidence(path=path, excerpt=excerpt, note="host roles in the config")


def stateful_components(ctx: Context) -> list[Component]:
    """Stateful components from host roles (and `backup.components`), minus `backup.acceptable_loss`."""
    settings = ctx.settings("backup")
    acceptable = {str(x).lower() for x in settings.get("acceptable_loss", [])}
    redis_persistent = bool(settings.get("redis_persistent", True))
    out: dict[str, Component] = {}
    for host, hc in ctx.config.hosts.items():
        for role in hc.roles:
            for key in ROLE_COMPONENTS.get(role, []):
                if key == "redis" and not redis_persistent:
                    continue
                out.setdefault(key, Component(key, host, [_config_evidence(ctx, host)], f"role {role}"))
    for key, host in (settings.get("components") or {}).items():
        out.setdefault(str(key), Component(str(key), str(host) if host else None, [], "backup.components"))
    return [c for k, c in out.items() if k not in acceptable]


_TIER_RE = re.compile(r"(\d+)\s*(?:x\s*)?(hourly|daily|weekly|monthly|yearly|annual)", re.I)


_DAYS_RE = re.compile(r"(\d+)\s*(days?|weeks?|months?)\b", re.I)


@dataclass
class DocumentedRetention:
    artifact: Artifact
    line: int
    text: str
    tiers: dict[str, int] = field(default_factory=dict)
    days: int | None = None

    def horizon_days(self) -> int | None:
        if self.tiers:
            size = {"hourly": 0, "daily": 1, "weekly": 7, "monthly": 30, "yearly": 365, "annual": 365}
            return max(n * size[t] for t, n in self.tiers.items())
        return self.days

    def describe(self) -> str:
        if self.tiers:
            return " / ".join(f"{n} {t}" for t, n in self.tiers.items())
        return f"{self.days} days"


def documented_retention(ctx: Context) -> list[DocumentedRetention]:
    """Lines of DR plans and backup docs that state a retention ("7 daily / 4 weekly", "30 days")."""
    out = []
    for art, doc in docs(ctx):
        if not (is_dr_plan(art.path, doc) or re.search(r"backup", art.path, re.I)):
            continue
        for n, line in doc.text_lines():
            if not re.search(r"\bretention\b|\bretain|\bkept\b|\bkeep\b", line, re.I):
                continue
            tiers = {t.lower(): int(k) for k, t in _TIER_RE.findall(line)}
            if tiers:
                out.append(DocumentedRetention(art, n, line.strip(), tiers=tiers))
                continue
            m = _DAYS_RE.search(line)
            if m:
                mult = {"d": 1, "w": 7, "m": 30}[m.group(2)[0].lower()]
                out.append(DocumentedRetention(art, n, line.strip(), days=int(m.group(1)) * mult))
    return out
