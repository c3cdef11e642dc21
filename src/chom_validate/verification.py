"""Verification an auditor can rely on: the machine-readable block a rendered certificate carries,
and the checks that make a certificate authentic (digest, id, seal, the verdict its results carry,
and for md/html the digest of the document's own text).

The block is armored base64 of zlib-compressed JSON: the certificate, the compressed canonical results
its digest covers, and the sha256 of the document with the block replaced by a placeholder. A PDF
carries the block of the HTML it was rendered from as an embedded file and shows id, digest and status
in its visible text.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .certificate import (
    BLOCK_SCHEMA,
    Certificate,
    canonical_json,
    certificate_id,
    load_certificate,
)
from .results import RunReport

# -- the machine-readable block a rendered certificate carries ------------------------------------
BLOCK_BEGIN = "-----BEGIN CHOM-VALIDATE CERTIFICATE-----"
BLOCK_END = "-----END CHOM-VALIDATE CERTIFICATE-----"
PLACEHOLDER = "CHOM-VALIDATE-CERTIFICATE-BLOCK"


def encode_block(cert: Certificate, report: RunReport, document_digest: str | None = None) -> str:
    """Armored block: the certificate and the compressed canonical results its digest covers."""
    data = {
        "schema": BLOCK_SCHEMA,
        "certificate": cert.model_dump(mode="json"),
        "results": base64.b64encode(zlib.compress(canonical_json(report), 9)).decode("ascii"),
        "document_digest": document_digest,
    }
    raw = base64.b64encode(zlib.compress(json.dumps(data, sort_keys=True).encode("utf-8"), 9)).decode()
    lines = [raw[i : i + 76] for i in range(0, len(raw), 76)]
    return "\n".join([BLOCK_BEGIN, *lines, BLOCK_END])


def decode_block(text: str) -> tuple[dict[str, Any], str] | None:
    """(block data, the exact armored text) from a document's text, or None when there is none."""
    m = re.search(re.escape(BLOCK_BEGIN) + r"(.*?)" + re.escape(BLOCK_END), text, re.S)
    if m is None:
        return None
    payload = re.sub(r"[^A-Za-z0-9+/=]", "", m.group(1))
    try:
        data = json.loads(zlib.decompress(base64.b64decode(payload)))
    except (ValueError, zlib.error) as exc:
        raise ValueError(f"the certificate block is damaged: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema") != BLOCK_SCHEMA:
        raise ValueError("not a chom-validate certificate block")
    return data, m.group(0)


def block_results(data: dict[str, Any]) -> bytes:
    try:
        return zlib.decompress(base64.b64decode(str(data.get("results", ""))))
    except (ValueError, zlib.error) as exc:
        raise ValueError(f"the certified results in the block are damaged: {exc}") from exc


def document_digest(text_without_block: str) -> str:
    return hashlib.sha256(text_without_block.encode("utf-8")).hexdigest()


def seal_document(text: str, cert: Certificate, report: RunReport) -> str:
    """Replace the placeholder in a rendered md/html document by the block (which binds the text)."""
    if PLACEHOLDER not in text:
        return text
    block = encode_block(cert, report, document_digest(text))
    return text.replace(PLACEHOLDER, block, 1)


# -- verification -----------------------------------------------------------------------------------
@dataclass
class Material:
    """What a verifier holds: the certificate, the bytes of the canonical results, and what is wrong."""

    cert: Certificate
    results: bytes
    source: str
    problems: list[str] = field(default_factory=list)
    report: RunReport | None = None  # the full results.json when verifying a certificate directory


def check_material(m: Material) -> list[str]:
    """Authenticity problems: digest, id, seal and the verdict the results carry (empty = authentic)."""
    cert = m.cert
    problems = list(m.problems)
    got = hashlib.sha256(m.results).hexdigest()
    if got != cert.digest:
        problems.append(f"results digest sha256:{got} does not match the certified sha256:{cert.digest}")
    try:
        issued = dt.datetime.fromisoformat(cert.issued_at)
        expected_id = certificate_id(cert.project, cert.environment, issued, cert.digest)
    except ValueError:
        expected_id = None
    if expected_id != cert.id:
        problems.append(
            f"certificate id {cert.id} does not match its digest and issue date (expected {expected_id})"
        )
    if not cert.seal:
        problems.append("the certificate has no seal (issued by an older chom-validate? reissue it)")
    elif cert.seal != cert.compute_seal():
        problems.append("the certificate fields were changed after issue (seal mismatch)")
    try:
        canon = json.loads(m.results)
        gate = canon.get("gate") or {}
    except ValueError:
        problems.append("the certified results are not JSON")
        return problems
    if bool(gate.get("passed")) != cert.certified:
        problems.append(
            f"the certificate says {'CERTIFIED' if cert.certified else 'NOT CERTIFIED'} but its results' gate "
            f"{'passed' if gate.get('passed') else 'failed'}"
        )
    if list(gate.get("reasons") or []) != cert.gate_reasons:
        problems.append("the certificate's gate reasons differ from those in its results")
    return problems


def load_material(path: Path) -> Material:
    """Read what to verify: certificate.json (+ results.json beside it), or a rendered md/html/pdf."""
    if path.is_dir() or path.suffix == ".json":
        cert, cert_path = load_certificate(path)
        results_path = cert_path.parent / cert.results_file
        try:
            from .outputs.json import load_report

            report = load_report(results_path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValueError(
                f"{results_path}: cannot read the certified results: {exc.strerror or exc}"
            ) from exc
        return Material(cert=cert, results=canonical_json(report), source=str(results_path), report=report)
    if not path.is_file():
        raise ValueError(f"{path}: no such certificate")
    if path.suffix.lower() == ".pdf":
        from .outputs.pdf import embedded_files, pdf_text

        files = embedded_files(path)
        block_text = files.get("chom-validate-certificate.txt")
        if block_text is None:
            raise ValueError(f"{path}: this PDF carries no chom-validate certificate block")
        got = decode_block(block_text.decode("ascii", errors="replace"))
        if got is None:
            raise ValueError(f"{path}: the embedded certificate block is empty")
        data, _ = got
        m = _material_from_block(data, str(path))
        visible = " ".join(pdf_text(path).split())
        for what, value in (("id", m.cert.id), ("digest", m.cert.digest)):
            if value not in visible:
                m.problems.append(f"the PDF's visible text does not show the certified {what} ({value})")
        shown = set(
            re.findall(r"Certification status: (NOT CERTIFIED(?:: \w+ evidence)?|CERTIFIED)", visible)
        )
        if shown != {m.cert.status}:
            m.problems.append(
                f"the PDF's visible text shows status {', '.join(sorted(shown)) or 'none'}, "
                f"the certificate says {m.cert.status}"
            )
        return m
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from exc
    got = decode_block(text)
    if got is None:
        raise ValueError(
            f"{path}: no chom-validate certificate block in this document (give certificate.json instead)"
        )
    data, armored = got
    m = _material_from_block(data, str(path))
    if data.get("document_digest") != document_digest(text.replace(armored, PLACEHOLDER, 1)):
        m.problems.append(
            f"{path.name}: the document's text was changed after issue (document digest mismatch)"
        )
    return m


def _material_from_block(data: dict[str, Any], source: str) -> Material:
    try:
        cert = Certificate.model_validate(data.get("certificate"))
    except ValueError as exc:
        raise ValueError(f"{source}: the certificate block is not a certificate: {exc}") from exc
    return Material(cert=cert, results=block_results(data), source=source)
