"""Evidence files: type by content (magic bytes), size cap, content-addressed storage.

The client's Content-Type and file name are never trusted for the type: a file is what
its first bytes say it is. Files are stored once per content under
`storage_dir/evidence/<sha256[:2]>/<sha256>`, written to a temporary file first and
renamed into place, so a reader never sees half a file and two uploads of the same
bytes share one copy on disk.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# Evidence is scans and documents: 20 MB is plenty, whatever the general upload limit.
EVIDENCE_CAP_BYTES = 20 * 1024 * 1024
CHUNK = 1024 * 1024

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXTENSIONS = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png", DOCX: ".docx", XLSX: ".xlsx"}


class EvidenceRejected(Exception):
    """Why a file was refused: `kind` is empty | too_large | unsupported."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def size_cap(max_upload_mb: int) -> int:
    """The smaller of the platform's upload limit and the evidence cap, in bytes."""
    return min(max_upload_mb * 1024 * 1024, EVIDENCE_CAP_BYTES)


def sniff(head: bytes, path: Path | None = None) -> str | None:
    """Content type from the first bytes (and, for zip containers, the entry names).

    OOXML (DOCX/XLSX) is a zip holding `[Content_Types].xml`; a plain zip or any other
    container is refused, since it could carry anything.
    """
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"PK\x03\x04") and path is not None:
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
        if "[Content_Types].xml" not in names:
            return None
        if any(n.startswith("word/") for n in names):
            return DOCX
        if any(n.startswith("xl/") for n in names):
            return XLSX
    return None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNSAFE = re.compile(r'[<>:"|?*]')


def sanitize_filename(raw: str | None, content_type: str) -> str:
    """A display name safe for headers and disks: no path, no control characters,
    at most 255 characters; a generic name when nothing usable is left."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE.sub("_", _CONTROL.sub("", name)).strip(" .")
    if not name:
        name = "evidence" + EXTENSIONS.get(content_type, "")
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: 255 - len(ext) - 1] + "." + ext
        else:
            name = name[:255]
    return name


@dataclass
class Stored:
    sha256: str
    size: int
    content_type: str
    relative_path: str  # relative to storage_dir, so the folder can move


def _chunks(source: BinaryIO) -> Iterator[bytes]:
    while True:
        block = source.read(CHUNK)
        if not block:
            return
        yield block


def store(source: BinaryIO, storage_dir: Path, cap: int) -> Stored:
    """Copy `source` into the evidence store, checking size and type on the way.

    Raises EvidenceRejected; leaves no temporary file behind either way.
    """
    base = storage_dir / "evidence"
    tmp_dir = base / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="up-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for block in _chunks(source):
                size += len(block)
                if size > cap:
                    raise EvidenceRejected("too_large")
                if len(head) < 16:
                    head += block[: 16 - len(head)]
                digest.update(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise EvidenceRejected("empty")
        content_type = sniff(head, tmp)
        if content_type is None:
            raise EvidenceRejected("unsupported")
        sha = digest.hexdigest()
        relative = Path("evidence") / sha[:2] / sha
        final = storage_dir / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            tmp.unlink()  # same bytes already stored: keep one copy
        else:
            os.replace(tmp, final)  # atomic within one file system
        return Stored(sha, size, content_type, relative.as_posix())
    finally:
        if tmp.exists():
            tmp.unlink()


def resolve(storage_dir: Path, relative_path: str) -> Path | None:
    """The stored file's path, refusing anything that would leave the store."""
    base = (storage_dir / "evidence").resolve()
    path = (storage_dir / relative_path).resolve()
    if base not in path.parents or not path.is_file():
        return None
    return path
