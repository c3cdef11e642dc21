"""The HTTP probe: GETs planned by checks, fetched by the engine in parallel before the checks."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from ..api import HttpGet, HttpResponse

MAX_PARALLEL = 8


def fetch(req: HttpGet) -> HttpResponse:
    """One GET: the status and body of any answer, or the failure (never raises)."""
    headers = {"User-Agent": "chom-validate"}
    if req.accept:
        headers["Accept"] = req.accept
    try:
        r = urllib.request.Request(req.url, headers=headers)
        with urllib.request.urlopen(r, timeout=req.timeout) as resp:
            return HttpResponse(req, status=resp.status, body=resp.read())
    except urllib.error.HTTPError as exc:
        return HttpResponse(
            req, status=exc.code, error=str(exc), error_type=type(exc).__name__, reason=str(exc.reason)
        )
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        return HttpResponse(
            req, error=str(exc), error_type=type(exc).__name__, reason=str(getattr(exc, "reason", exc))
        )


def fetch_all(requests: Iterable[HttpGet], done: dict[HttpGet, HttpResponse]) -> None:
    """Fetch every request not in ``done`` (in parallel), adding the answers to ``done``."""
    todo = list(dict.fromkeys(r for r in requests if r not in done))
    if not todo:
        return
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(todo))) as pool:
        for req, resp in zip(todo, pool.map(fetch, todo), strict=True):
            done[req] = resp
