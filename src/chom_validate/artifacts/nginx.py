"""Nginx sites: server and location blocks with their directives and line numbers.

Enough of nginx's grammar for TLS, HSTS and location checks: ``name args;`` directives,
``name args { ... }`` blocks, quoted strings, ``#`` comments. ``add_header`` inheritance follows
nginx: a block that has its own ``add_header`` does not inherit its parent's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .base import Artifact, ArtifactParseError, parser


@dataclass
class Directive:
    name: str
    args: list[str]
    line: int


@dataclass
class Block:
    name: str  # "server", "location", "http", "" for the file
    args: list[str]
    line: int
    directives: list[Directive] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    parent: Block | None = field(default=None, repr=False)

    def all(self, name: str) -> list[Directive]:
        return [d for d in self.directives if d.name == name]

    def first(self, name: str) -> Directive | None:
        found = self.all(name)
        return found[0] if found else None

    def effective(self, name: str) -> list[Directive]:
        """Array-like directives (add_header...) as nginx applies them: own ones, else inherited."""
        b: Block | None = self
        while b is not None:
            own = b.all(name)
            if own:
                return own
            b = b.parent
        return []

    def inherited(self, name: str) -> Directive | None:
        """Single-valued directive from this block or the nearest enclosing one."""
        b: Block | None = self
        while b is not None:
            d = b.first(name)
            if d:
                return d
            b = b.parent
        return None

    def walk(self, name: str) -> list[Block]:
        out = []
        for b in self.blocks:
            if b.name == name:
                out.append(b)
            out.extend(b.walk(name))
        return out


@dataclass
class NginxSite:
    root: Block

    @property
    def servers(self) -> list[Block]:
        return self.root.walk("server")


def is_tls(server: Block) -> bool:
    return any("ssl" in d.args or "quic" in d.args for d in server.all("listen")) or bool(
        server.first("ssl_certificate")
    )


def listen_ports(server: Block) -> list[tuple[int, Directive]]:
    out = []
    for d in server.all("listen"):
        if not d.args:
            continue
        addr = d.args[0]
        port = addr.rsplit(":", 1)[-1] if (":" in addr and not addr.endswith("]")) else addr
        if port.isdigit():
            out.append((int(port), d))
        elif not any(c.isdigit() for c in addr.split(":")[-1]):
            out.append((80, d))
    return out


def _tokens(text: str) -> list[tuple[str, int]]:
    toks: list[tuple[str, int]] = []
    i, line, n = 0, 1, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in "{};":
            toks.append((c, line))
            i += 1
        elif c in "\"'":
            j = i + 1
            start = line
            while j < n and text[j] != c:
                if text[j] == "\\":
                    j += 1
                elif text[j] == "\n":
                    line += 1
                j += 1
            toks.append((text[i + 1 : j], start))
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "{};":
                if text[j] == "$" and j + 1 < n and text[j + 1] == "{":
                    j = text.find("}", j) + 1 or n
                    continue
                j += 1
            toks.append((text[i:j], line))
            i = j
    return toks


def parse_nginx_text(text: str) -> NginxSite:
    root = Block("", [], 1)
    stack = [root]
    words: list[tuple[str, int]] = []
    for tok, line in _tokens(text):
        if tok == ";":
            if words:
                stack[-1].directives.append(Directive(words[0][0], [w for w, _ in words[1:]], words[0][1]))
            words = []
        elif tok == "{":
            if not words:
                raise ArtifactParseError("block without a name", line)
            b = Block(words[0][0], [w for w, _ in words[1:]], words[0][1], parent=stack[-1])
            stack[-1].blocks.append(b)
            stack.append(b)
            words = []
        elif tok == "}":
            if len(stack) == 1:
                raise ArtifactParseError("unexpected '}'", line)
            stack.pop()
        else:
            words.append((tok, line))
    if len(stack) != 1:
        raise ArtifactParseError(f"unclosed block '{stack[-1].name}' opened here", stack[-1].line)
    return NginxSite(root)


@parser("nginx_site")
def parse_nginx(artifact: Artifact) -> NginxSite:
    return parse_nginx_text(artifact.text)
