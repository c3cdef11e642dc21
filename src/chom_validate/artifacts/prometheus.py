"""Prometheus configs and rule files, with line numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .base import Artifact, ArtifactParseError, parser
from .yamlfile import LineDict, load_yaml


@dataclass
class Rule:
    group: str
    name: str  # alert or record name
    kind: str  # "alert" | "record"
    expr: str
    line: int
    for_: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    def line_of(self, key: str) -> int:
        return self.raw.line_of(key) if isinstance(self.raw, LineDict) else self.line


@dataclass
class RuleFile:
    groups: list[tuple[str, int]] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)

    @property
    def alerts(self) -> list[Rule]:
        return [r for r in self.rules if r.kind == "alert"]


@parser("prometheus_rules")
def parse_rules(artifact: Artifact) -> RuleFile:
    data = load_yaml(artifact.text)
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        raise ArtifactParseError("rule file must have a top-level `groups:` list", 1)
    rf = RuleFile()
    for g in data["groups"]:
        if not isinstance(g, LineDict):
            raise ArtifactParseError("each group must be a mapping", getattr(data["groups"], "line", 1))
        gname = str(g.get("name", ""))
        rf.groups.append((gname, g.line))
        for r in g.get("rules") or []:
            if not isinstance(r, LineDict):
                raise ArtifactParseError("each rule must be a mapping", g.line)
            kind = "alert" if "alert" in r else "record" if "record" in r else ""
            if not kind:
                raise ArtifactParseError("rule has neither `alert:` nor `record:`", r.line)
            rf.rules.append(
                Rule(
                    group=gname,
                    name=str(r.get(kind)),
                    kind=kind,
                    expr=str(r.get("expr", "")),
                    line=r.line,
                    for_=str(r["for"]) if r.get("for") is not None else None,
                    labels={str(k): str(v) for k, v in (r.get("labels") or {}).items()},
                    annotations={str(k): str(v) for k, v in (r.get("annotations") or {}).items()},
                    raw=r,
                )
            )
    return rf
