"""Grafana: dashboards (JSON), datasource and dashboard-provider provisioning (YAML).

Dashboard JSON carries no line numbers after ``json.loads``; each panel and query is located in
the text by searching for its serialised value in order, which is exact for files Grafana writes
(one key per line).
"""

from __future__ import annotations

import bisect
import json
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from .base import Artifact, ArtifactParseError, parser
from .yamlfile import LineDict, artifact_yaml


@dataclass
class Query:
    expr: str
    line: int
    datasource: str | None  # uid or name, None = panel/dashboard default


@dataclass
class Panel:
    title: str
    line: int
    datasource: str | None
    queries: list[Query] = field(default_factory=list)


@dataclass
class Dashboard:
    title: str
    uid: str | None
    line: int
    panels: list[Panel] = field(default_factory=list)
    datasource_refs: list[tuple[str, int]] = field(default_factory=list)  # (uid or name, line)
    variables: set[str] = field(default_factory=set)


def _ds_ref(v: Any) -> str | None:
    if isinstance(v, dict):
        return str(v.get("uid") or v.get("type") or "") or None
    return str(v) if v not in (None, "") else None


_NEWLINE = re.compile("\n")
# A key with a string value, or a bare "type" key, anywhere in the dashboard text (linear: no
# nested quantifiers; a string literal is a run of non-quote characters and escapes).
_KEYED = re.compile(r'"(title|expr|name)"[ \t]*:[ \t]*("(?:[^"\\\n]|\\.)*")|"(type)"')


class _Locator:
    """Finds the line of successive panels, variables and queries in the text, moving forward.

    The text is indexed once (every ``"title"``, ``"expr"`` and ``"name"`` string value and every
    ``"type"`` key, with its offset) and newline offsets are computed once, so locating all the
    panels of a dashboard costs a dictionary look-up and two bisections each: linear in the size
    of the file, whatever the number of panels or the spacing the file uses.
    """

    def __init__(self, text: str) -> None:
        self.pos = 0
        self._newlines = [m.start() for m in _NEWLINE.finditer(text)]
        self._at: dict[tuple[str, object], list[int]] = {}
        for m in _KEYED.finditer(text):
            if m.group(3):
                self._at.setdefault(("type", None), []).append(m.start())
                continue
            lit = m.group(2)
            if "\\" not in lit:
                value: object = lit[1:-1]  # no escape: the literal is the value
            else:
                try:
                    value = json.loads(lit)
                except ValueError:
                    continue
            self._at.setdefault((m.group(1), value), []).append(m.start())

    def line_of(self, key: str, value: object = None, fallback: int = 1) -> int:
        """Line of the next ``"key": value`` at or after the last one found (of the first one in
        the file when none follows), or ``fallback`` when the text holds none."""
        if key != "type" and not isinstance(value, str):
            return fallback
        where = self._at.get((key, value))
        if not where:
            return fallback
        k = bisect.bisect_left(where, self.pos)
        if k < len(where):
            i = where[k]
            self.pos = i + 1
        else:
            i = where[0]
        return bisect.bisect_left(self._newlines, i) + 1


@parser("grafana_dashboard")
def parse_dashboard(artifact: Artifact) -> Dashboard:
    try:
        data = json.loads(artifact.text)
    except ValueError as exc:
        raise ArtifactParseError(f"invalid JSON: {exc}", getattr(exc, "lineno", None)) from exc
    dash = data.get("dashboard", data) if isinstance(data, dict) else None
    if not isinstance(dash, dict):
        raise ArtifactParseError("a dashboard must be a JSON object", 1)
    loc = _Locator(artifact.text)
    title = dash.get("title")
    d = Dashboard(title=str(title or ""), uid=dash.get("uid"), line=loc.line_of("title", title))
    loc.pos = 0
    for var in (dash.get("templating") or {}).get("list") or []:
        if isinstance(var, dict) and var.get("name"):
            d.variables.add(str(var["name"]))
            ref = _ds_ref(var.get("datasource"))
            if ref:
                d.datasource_refs.append((ref, loc.line_of("name", var["name"])))
    loc.pos = 0

    def panels(items: Any) -> None:
        for p in items or []:
            if not isinstance(p, dict):
                continue
            title = str(p.get("title") or "")
            line = loc.line_of("title", p.get("title")) if title else loc.line_of("type")
            ds = _ds_ref(p.get("datasource"))
            panel = Panel(title=title, line=line, datasource=ds)
            if ds:
                d.datasource_refs.append((ds, line))
            for t in p.get("targets") or []:
                if not isinstance(t, dict):
                    continue
                tds = _ds_ref(t.get("datasource"))
                if tds and tds != ds:
                    d.datasource_refs.append((tds, line))
                expr = t.get("expr")
                if isinstance(expr, str) and expr.strip():
                    qline = loc.line_of("expr", expr, line)
                    panel.queries.append(Query(expr, qline, tds or ds))
            d.panels.append(panel)
            panels(p.get("panels"))
            for row_panels in (p.get("rows") or []) if isinstance(p.get("rows"), list) else []:
                panels([row_panels])

    panels(dash.get("panels"))
    for row in dash.get("rows") or []:
        if isinstance(row, dict):
            panels(row.get("panels"))
    return d


@dataclass
class Datasource:
    name: str
    type: str
    uid: str | None
    url: str | None
    line: int
    is_default: bool = False


@dataclass
class DatasourceProvisioning:
    datasources: list[Datasource] = field(default_factory=list)


@parser("grafana_datasources")
def parse_datasources(artifact: Artifact) -> DatasourceProvisioning:
    data = artifact_yaml(artifact)
    if not isinstance(data, LineDict):
        raise ArtifactParseError("datasource provisioning must be a YAML mapping", 1)
    out = DatasourceProvisioning()
    for ds in data.get("datasources") or []:
        if isinstance(ds, LineDict):
            out.datasources.append(
                Datasource(
                    name=str(ds.get("name") or ""),
                    type=str(ds.get("type") or ""),
                    uid=str(ds["uid"]) if ds.get("uid") else None,
                    url=str(ds["url"]) if ds.get("url") else None,
                    line=ds.line,
                    is_default=bool(ds.get("isDefault")),
                )
            )
    return out


@dataclass
class Provider:
    name: str
    folder: str
    path: str | None
    line: int
    folders_from_files: bool = False


@dataclass
class ProviderProvisioning:
    providers: list[Provider] = field(default_factory=list)


@parser("grafana_dashboard_provider")
def parse_providers(artifact: Artifact) -> ProviderProvisioning:
    data = artifact_yaml(artifact)
    if not isinstance(data, LineDict):
        raise ArtifactParseError("dashboard provisioning must be a YAML mapping", 1)
    out = ProviderProvisioning()
    for p in data.get("providers") or []:
        if isinstance(p, LineDict):
            opts = p.get("options") or {}
            path = opts.get("path") if isinstance(opts, dict) else None
            out.providers.append(
                Provider(
                    name=str(p.get("name") or ""),
                    folder=str(p.get("folder") or ""),
                    path=str(path).rstrip("/") if path else None,
                    line=p.line,
                    folders_from_files=bool(opts.get("foldersFromFilesStructure"))
                    if isinstance(opts, dict)
                    else False,
                )
            )
    return out


def dashboard_folder(artifact: Artifact, root_dirname: str = "dashboards") -> str:
    """The folder a file-provisioned dashboard lands in: its directory below ``dashboards/``."""
    parts = posixpath.dirname(artifact.install_path or artifact.path).split("/")
    if root_dirname in parts:
        rest = parts[len(parts) - parts[::-1].index(root_dirname) :]
        return "/".join(rest) or "General"
    return parts[-1] if parts and parts[-1] else "General"
