"""Application route files (Laravel ``routes/*.php``): the health endpoints monitoring must probe."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .base import Artifact, parser
from .discover import Candidate, detector

_ROUTE_RE = re.compile(
    r"""Route::(?P<verb>get|post|put|patch|delete|any|match)\s*\(\s*(?:\[[^\]]*\]\s*,\s*)?(?P<q>['"])(?P<uri>[^'"]*)(?P=q)""",
    re.I,
)
HEALTH_RE = re.compile(r"(^|/)(health|healthz|livez|readyz|ping|status|up)(/|$)", re.I)


@dataclass
class Route:
    verb: str
    uri: str  # URI with a leading slash (/api added for routes/api.php)
    line: int


@dataclass
class RouteFile:
    routes: list[Route] = field(default_factory=list)

    @property
    def health(self) -> list[Route]:
        return [
            r for r in self.routes if r.verb.lower() in ("get", "any", "match") and HEALTH_RE.search(r.uri)
        ]


@detector("app_routes", order=55)
def _detect_routes(c: Candidate) -> str | None:
    if re.search(r"(^|/)routes/[^/]+\.php$", c.path) and "Route::" in c.text:
        return "app_routes"
    return None


@parser("app_routes")
def parse_routes(artifact: Artifact) -> RouteFile:
    rf = RouteFile()
    for n, line in enumerate(artifact.lines, 1):
        for m in _ROUTE_RE.finditer(line):
            uri = "/" + m.group("uri").strip("/")
            if artifact.path.endswith("api.php") and not uri.startswith("/api"):
                # Laravel serves routes/api.php under /api; group prefixes are not followed
                uri = "/api" + (uri if uri != "/" else "")
            rf.routes.append(Route(m.group("verb").upper(), uri, n))
    return rf
