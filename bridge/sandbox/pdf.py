"""A small valid PDF naming a document, as the emulators' PDF endpoints return (binary answers, not JSON)."""

from __future__ import annotations

from dataclasses import dataclass

PDF_MIMETYPE = "application/pdf"


@dataclass(frozen=True)
class Binary:
    """A handler's non-JSON answer: bytes and their content type."""

    data: bytes
    mimetype: str = PDF_MIMETYPE


def wants_pdf(accept: str | None) -> bool:
    """True when an Accept header asks for a PDF."""
    return PDF_MIMETYPE in (accept or "").lower()


def _escape(text: str) -> str:
    """Text safe inside a PDF string literal (Latin-1, parentheses and backslashes escaped)."""
    text = text.encode("latin-1", "replace").decode("latin-1")
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def document_pdf(lines: list[str]) -> bytes:
    """A one-page PDF 1.4 showing `lines` in Helvetica (cross-reference offsets computed, so readers accept it)."""
    text = "BT /F1 14 Tf 72 720 Td 18 TL " + " ".join(f"({_escape(line)}) Tj T*" for line in lines) + " ET"
    stream = text.encode("latin-1")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
