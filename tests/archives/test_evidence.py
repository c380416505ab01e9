"""POST /evidence and GET /evidence/{id}: type by content, size cap, stored once."""

from __future__ import annotations

import io
import zipfile

import pytest

from chengxin.archives import evidence
from chengxin.archives.models import EvidenceFile
from tests.archives.test_archive import PNG, app  # noqa: F401 - the app fixture
from tests.conftest import audit_rows
from tests.records.factories import EDU, SCJG


def send(client, headers, data, name="scan.png", ctype="image/png"):
    return client.post("/api/v1/evidence", headers=headers, files={"file": (name, data, ctype)})


def stored_files(rt):
    base = rt.settings.storage_dir / "evidence"
    return sorted(p for p in base.rglob("*")
                  if p.is_file() and p.relative_to(base).parts[0] != "tmp")


def test_png_is_stored_once_and_downloads_the_same_bytes(client, users, rt):
    h = users.api_key(EDU)
    # The client's content type is ignored: the bytes say PNG.
    a = send(client, h, PNG, name="../../etc/证明.png", ctype="text/plain")
    b = send(client, h, PNG, name="copy.png")
    assert a.status_code == b.status_code == 201, a.text
    first, second = a.json(), b.json()
    assert first["sha256"] == second["sha256"]
    assert first["content_type"] == "image/png" and first["size"] == len(PNG)
    assert first["filename"] == "证明.png"
    [path] = stored_files(rt)
    assert path.name == first["sha256"] and path.parent.name == first["sha256"][:2]
    assert path.read_bytes() == PNG
    with rt.uow() as s:
        row = s.get(EvidenceFile, first["id"])
        assert row.department_code == EDU and row.size == len(PNG)

    r = client.get(f"/api/v1/evidence/{first['id']}", headers=h)
    assert r.status_code == 200
    assert r.content == PNG
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"].startswith("attachment")
    assert [e.object_id for e in audit_rows(rt, "evidence.read")] == [str(first["id"])]
    assert len(audit_rows(rt, "evidence.upload")) == 2

    users.add("officer", "reviewer")
    assert client.get(f"/api/v1/evidence/{first['id']}",
                      headers=users.headers("officer")).content == PNG
    r = client.get(f"/api/v1/evidence/{first['id']}", headers=users.api_key(SCJG))
    assert r.status_code == 403
    r = client.get("/api/v1/evidence/99999", headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_text_file_is_refused_415(client, users, rt):
    r = send(client, users.api_key(EDU), b"just some text pretending to be a PDF",
             name="a.pdf", ctype="application/pdf")
    assert r.status_code == 415
    assert r.json()["error"]["code"] == "unsupported_media_type"
    assert stored_files(rt) == []
    # A zip that is not an OOXML document is refused too.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("payload.exe", b"MZ")
    r = send(client, users.api_key(EDU), buf.getvalue(), name="a.docx")
    assert r.status_code == 415


def test_docx_and_pdf_accepted_empty_refused(client, users):
    h = users.api_key(EDU)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    r = send(client, h, buf.getvalue(), name="处理决定.docx")
    assert r.status_code == 201 and r.json()["content_type"] == evidence.DOCX
    r = send(client, h, b"%PDF-1.7\n%%EOF\n", name="决定书.pdf")
    assert r.status_code == 201 and r.json()["content_type"] == "application/pdf"
    r = send(client, h, b"", name="empty.pdf")
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "file"
    r = client.post("/api/v1/evidence", headers=h, files={"other": ("x.png", PNG, "image/png")})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "file"
    r = client.post("/api/v1/evidence", headers={**h, "content-type": "multipart/form-data"},
                    content=b"garbage")
    assert r.status_code in (400, 422) and "error" in r.json()
    r = client.post("/api/v1/evidence", headers=h, json={"file": "x"})
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"


def test_oversize_is_refused_413(client, users, rt, monkeypatch):
    monkeypatch.setattr(evidence, "EVIDENCE_CAP_BYTES", 1024)
    r = send(client, users.api_key(EDU), PNG + b"\x00" * 2048)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    assert stored_files(rt) == []
    assert list((rt.settings.storage_dir / "evidence" / "tmp").iterdir()) == []


@pytest.mark.parametrize("raw,expected", [
    ("a/b\\c.pdf", "c.pdf"), ("\x00\x1f.", "evidence.png"),
    ("x" * 300 + ".png", "x" * 251 + ".png"),
])
def test_filenames_are_sanitised(raw, expected):
    assert evidence.sanitize_filename(raw, evidence.PNG) == expected
