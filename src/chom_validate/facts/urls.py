"""URLs as facts: the parts checks compare (scheme, host, effective port, path), parsed without I/O."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class UrlParts:
    scheme: str
    netloc: str  # host[:port] as written
    path: str  # "" when the URL has none
    explicit_port: int | None

    @property
    def port(self) -> int:
        """The port a client connects to: the explicit one, else the scheme's default."""
        return self.explicit_port or (443 if self.scheme == "https" else 80)

    @property
    def is_base(self) -> bool:
        """No path (or "/"): a base URL that routes are appended to."""
        return self.path in ("", "/")


def url_parts(url: str) -> UrlParts:
    """Split ``url``; raises ValueError for a port that is not a number (``http://h:x/``)."""
    parts = urlsplit(url)
    return UrlParts(parts.scheme, parts.netloc, parts.path, parts.port)
