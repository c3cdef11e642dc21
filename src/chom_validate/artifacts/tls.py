"""PEM certificates kept in a tree (``*.crt``/``*.pem``/``*.cer``): subject and validity window."""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from dataclasses import dataclass

from .base import Artifact, ArtifactParseError, parser
from .discover import Candidate, detector

_PEM_RE = re.compile(r"-----BEGIN CERTIFICATE-----\s+(?P<body>[A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----")


@dataclass
class Certificate:
    line: int  # line of the BEGIN marker
    subject: str
    not_before: dt.datetime
    not_after: dt.datetime


@detector("tls_certificate", order=5)
def _detect_cert(c: Candidate) -> str | None:
    if (
        posixpath.splitext(c.path)[1].lower() in (".crt", ".pem", ".cer")
        and "-----BEGIN CERTIFICATE-----" in c.text
    ):
        return "tls_certificate"
    return None


def parse_certificates(text: str) -> list[Certificate]:
    try:
        from cryptography import x509  # installed with paramiko
    except ImportError as exc:  # pragma: no cover
        raise ArtifactParseError("the `cryptography` package is needed to read certificates") from exc
    out = []
    for m in _PEM_RE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        try:
            cert = x509.load_pem_x509_certificate(m.group(0).encode())
        except ValueError as exc:
            raise ArtifactParseError(f"invalid certificate: {exc}", line) from exc
        out.append(
            Certificate(
                line, cert.subject.rfc4514_string(), cert.not_valid_before_utc, cert.not_valid_after_utc
            )
        )
    return out


@parser("tls_certificate")
def parse_cert_artifact(artifact: Artifact) -> list[Certificate]:
    return parse_certificates(artifact.text)
