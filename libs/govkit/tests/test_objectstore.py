"""govkit.objectstore: the local and S3 stores, the URL factory and upload validation."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from govkit.errors import AppError, ErrorKind
from govkit.objectstore import (
    DOCX,
    JPEG,
    OFD,
    PDF,
    PNG,
    XLSX,
    ZIP,
    LocalObjectStore,
    ObjectStore,
    S3ObjectStore,
    object_store_from_settings,
    sniff_content_type,
    validate_upload,
)

PDF_BYTES = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
EXE_BYTES = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64 + b"This program cannot be run"
)
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 32


def _zip(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


DOCX_BYTES = _zip(["[Content_Types].xml", "_rels/.rels", "word/document.xml"])
XLSX_BYTES = _zip(["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/worksheets/sheet1.xml"])
OFD_BYTES = _zip(["OFD.xml", "Doc_0/Document.xml"])
ZIP_BYTES = _zip(["材料/说明.txt"])

# --------------------------------------------------------------------------------------------
# LocalObjectStore
# --------------------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects")


async def test_put_then_get_returns_the_same_bytes_and_describes_them(store: LocalObjectStore) -> None:
    data = "可行性研究报告".encode() * 100
    stored = await store.put("city/declarations/42/fs.pdf", data, content_type=PDF)
    assert stored.key == "city/declarations/42/fs.pdf"
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.content_type == PDF
    assert await store.get("city/declarations/42/fs.pdf") == data
    assert await store.exists("city/declarations/42/fs.pdf")
    assert isinstance(store, ObjectStore)


async def test_put_replaces_and_leaves_no_temporary_files(store: LocalObjectStore) -> None:
    await store.put("a/b.pdf", b"old", content_type=PDF)
    await store.put("a/b.pdf", b"new", content_type=PDF)
    assert await store.get("a/b.pdf") == b"new"
    assert sorted(p.name for p in (store.root / "a").iterdir()) == ["b.pdf"]


async def test_a_failed_write_keeps_the_old_object(
    store: LocalObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.put("a/b.pdf", b"old", content_type=PDF)

    def disk_full(*_args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        await store.put("a/b.pdf", b"new", content_type=PDF)
    monkeypatch.undo()
    assert await store.get("a/b.pdf") == b"old"
    assert sorted(p.name for p in (store.root / "a").iterdir()) == ["b.pdf"]


async def test_missing_object_is_not_found_and_delete_is_idempotent(store: LocalObjectStore) -> None:
    with pytest.raises(AppError) as info:
        await store.get("nope/x.pdf")
    assert info.value.code == "OBJECT_NOT_FOUND"
    assert info.value.kind is ErrorKind.NOT_FOUND
    assert not await store.exists("nope/x.pdf")
    await store.delete("nope/x.pdf")
    await store.put("x.pdf", b"1", content_type=PDF)
    await store.delete("x.pdf")
    assert not await store.exists("x.pdf")


@pytest.mark.parametrize(
    "key",
    [
        "",
        "../secret",
        "a/../../secret",
        "/etc/passwd",
        "a//b",
        "a/./b",
        "a\\..\\b",
        ".hidden",
        "a/.tmp-x.part",
        "a/b/",
        "材料.pdf",
        "a\x00b",
        "a b",
        "x" * 1025,
    ],
)
async def test_unsafe_keys_are_refused(store: LocalObjectStore, key: str) -> None:
    for call in (
        store.put(key, b"x", content_type=PDF),
        store.get(key),
        store.exists(key),
        store.delete(key),
    ):
        with pytest.raises(AppError) as info:
            await call
        assert info.value.code == "OBJECT_KEY_INVALID"
    assert not (store.root.parent / "secret").exists()


async def test_a_symlink_out_of_the_root_is_refused(store: LocalObjectStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    store.root.mkdir(parents=True)
    (store.root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(AppError, match="OBJECT_KEY_INVALID"):
        await store.put("link/x.pdf", b"x", content_type=PDF)
    assert list(outside.iterdir()) == []


# --------------------------------------------------------------------------------------------
# S3ObjectStore (no network: a Stubber answers, or a before-send hook captures the request)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def s3() -> S3ObjectStore:
    return S3ObjectStore(
        bucket="govproj-materials",
        endpoint_url="http://minio.test:9000",
        region="cn-north-1",
        access_key="AKIATEST",
        secret_key="secret-test",
    )


async def test_s3_put_sends_type_md5_and_sha256(s3: S3ObjectStore) -> None:
    data = b"%PDF-1.7 approval"
    digest = hashlib.sha256(data).hexdigest()
    with Stubber(s3.client) as stub:
        stub.add_response(
            "put_object",
            {"ETag": '"etag"'},
            {
                "Bucket": "govproj-materials",
                "Key": "city/approvals/1.pdf",
                "Body": data,
                "ContentType": PDF,
                "ContentMD5": base64.b64encode(hashlib.md5(data).digest()).decode(),
                "Metadata": {"sha256": digest},
            },
        )
        stored = await s3.put("city/approvals/1.pdf", data, content_type=PDF)
        stub.assert_no_pending_responses()
    assert (stored.size, stored.sha256, stored.content_type) == (len(data), digest, PDF)


async def test_s3_get_exists_delete(s3: S3ObjectStore) -> None:
    with Stubber(s3.client) as stub:
        stub.add_response(
            "get_object",
            {"Body": _streaming(b"bytes")},
            {"Bucket": "govproj-materials", "Key": "k/1.pdf"},
        )
        stub.add_client_error("get_object", service_error_code="NoSuchKey", http_status_code=404)
        stub.add_response(
            "head_object", {"ContentLength": 5}, {"Bucket": "govproj-materials", "Key": "k/1.pdf"}
        )
        stub.add_client_error("head_object", service_error_code="404", http_status_code=404)
        stub.add_response("delete_object", {}, {"Bucket": "govproj-materials", "Key": "k/1.pdf"})
        assert await s3.get("k/1.pdf") == b"bytes"
        with pytest.raises(AppError) as info:
            await s3.get("k/2.pdf")
        assert info.value.code == "OBJECT_NOT_FOUND"
        assert await s3.exists("k/1.pdf")
        assert not await s3.exists("k/2.pdf")
        await s3.delete("k/1.pdf")
        stub.assert_no_pending_responses()


async def test_s3_access_denied_is_not_mistaken_for_missing(s3: S3ObjectStore) -> None:
    with Stubber(s3.client) as stub:
        stub.add_client_error("head_object", service_error_code="403", http_status_code=403)
        with pytest.raises(Exception, match="403"):
            await s3.exists("k/1.pdf")


async def test_s3_refuses_unsafe_keys_before_any_request(s3: S3ObjectStore) -> None:
    with Stubber(s3.client) as stub:  # no responses queued: any request would fail the stub
        with pytest.raises(AppError, match="OBJECT_KEY_INVALID"):
            await s3.put("../x", b"x", content_type=PDF)
        stub.assert_no_pending_responses()


async def test_s3_request_on_the_wire_is_path_style_signed_v4_without_crc32(s3: S3ObjectStore) -> None:
    """What MinIO receives: http://endpoint/bucket/key, SigV4 for the region, Content-MD5, metadata."""
    sent: list[Any] = []

    def capture(request: Any, **_kwargs: Any) -> AWSResponse:
        sent.append(request)
        return AWSResponse(request.url, 200, {"ETag": '"x"'}, _RawBody(b""))

    s3.client.meta.events.register("before-send.s3.PutObject", capture)
    data = "批复".encode()
    await s3.put("city/approvals/7.pdf", data, content_type=PDF)
    (request,) = sent
    headers = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
    assert request.method == "PUT"
    assert request.url == "http://minio.test:9000/govproj-materials/city/approvals/7.pdf"
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIATEST/")
    assert "/cn-north-1/s3/aws4_request" in headers["authorization"]
    assert headers["content-type"] == PDF
    assert headers["content-md5"] == base64.b64encode(hashlib.md5(data).digest()).decode()
    assert headers["x-amz-meta-sha256"] == hashlib.sha256(data).hexdigest()
    assert not any(h.startswith("x-amz-checksum-") or h == "x-amz-sdk-checksum-algorithm" for h in headers)
    assert "secret-test" not in str(request.headers)


class _RawBody:
    """Enough of urllib3's response for botocore to read a body."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def stream(self, *_args: Any, **_kwargs: Any) -> Any:
        yield self._data.read()

    def read(self, *_args: Any) -> bytes:
        return self._data.read()


def _streaming(data: bytes) -> Any:
    from botocore.response import StreamingBody

    return StreamingBody(io.BytesIO(data), len(data))


# --------------------------------------------------------------------------------------------
# object_store_from_settings
# --------------------------------------------------------------------------------------------

CREDS = {"GOVPROJ_OBJECT_STORE_ACCESS_KEY": "ak", "GOVPROJ_OBJECT_STORE_SECRET_KEY": "sk"}


def test_file_url_gives_a_local_store(tmp_path: Path) -> None:
    store = object_store_from_settings(f"file://{tmp_path}/objects")
    assert isinstance(store, LocalObjectStore)
    assert store.root == tmp_path / "objects"


def test_s3_url_gives_an_s3_store_with_endpoint_and_region() -> None:
    store = object_store_from_settings(
        "s3://govproj-materials?endpoint=https://minio.internal:9000&region=cn-north-1", environ=CREDS
    )
    assert isinstance(store, S3ObjectStore)
    assert store.bucket == "govproj-materials"
    assert store.client.meta.endpoint_url == "https://minio.internal:9000"
    assert store.client.meta.region_name == "cn-north-1"
    credentials = store.client._request_signer._credentials
    assert (credentials.access_key, credentials.secret_key) == ("ak", "sk")


def test_explicit_credentials_win_over_the_environment() -> None:
    store = object_store_from_settings("s3://bucket-1", access_key="a2", secret_key="s2", environ=CREDS)
    assert isinstance(store, S3ObjectStore)
    assert store.client._request_signer._credentials.access_key == "a2"


@pytest.mark.parametrize(
    ("url", "environ", "match"),
    [
        ("s3://ak:sk@bucket-1?endpoint=http://m:9000", CREDS, "must not contain credentials"),
        ("s3://bucket-1?endpoint=http://m:9000", {}, "needs credentials"),
        ("s3://bucket-1?endpoint=http://m:9000&acl=public", CREDS, "unknown parameter"),
        ("s3://Bad_Bucket", CREDS, "expected s3://bucket"),
        ("s3://bucket-1/prefix", CREDS, "expected s3://bucket"),
        ("file://relative/path", {}, "absolute"),
        ("ftp://host/x", {}, "scheme"),
    ],
)
def test_bad_urls_are_refused(url: str, environ: dict[str, str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        object_store_from_settings(url, environ=environ)


# --------------------------------------------------------------------------------------------
# validate_upload
# --------------------------------------------------------------------------------------------

ALL = {PDF, DOCX, XLSX, ZIP, PNG, JPEG, OFD}
MB = 1024 * 1024


@pytest.mark.parametrize(
    ("filename", "declared", "data", "expected"),
    [
        ("可行性研究报告.pdf", "application/pdf", PDF_BYTES, PDF),
        ("申报书.DOCX", DOCX, DOCX_BYTES, DOCX),
        ("预算表.xlsx", "application/octet-stream", XLSX_BYTES, XLSX),
        ("批复.ofd", "", OFD_BYTES, OFD),
        ("附件.zip", "application/x-zip-compressed", ZIP_BYTES, ZIP),
        ("打包的申报书.zip", ZIP, DOCX_BYTES, ZIP),
        ("现场照片.jpg", "image/jpeg", JPEG_BYTES, JPEG),
        ("现场照片.jpeg", "image/jpeg", JPEG_BYTES, JPEG),
        ("架构图.png", "image/png; charset=binary", PNG_BYTES, PNG),
    ],
)
def test_accepted_uploads_get_their_canonical_type(
    filename: str, declared: str, data: bytes, expected: str
) -> None:
    checked = validate_upload(filename, declared, len(data), max_bytes=MB, allowed_types=ALL, data=data)
    assert checked.content_type == expected
    assert checked.size == len(data)
    assert checked.filename == filename


def test_real_office_files_are_recognised() -> None:
    from openpyxl import Workbook

    buffer = io.BytesIO()
    Workbook().save(buffer)
    assert sniff_content_type(buffer.getvalue()) == XLSX


@pytest.mark.parametrize(
    ("filename", "declared", "data"),
    [
        ("申报书.pdf", "application/pdf", EXE_BYTES),  # a renamed .exe
        ("申报书.pdf", "application/octet-stream", EXE_BYTES),
        ("setup.exe", "application/octet-stream", EXE_BYTES),
        ("预算表.xlsx", XLSX, DOCX_BYTES),  # content is another allowed type
        ("申报书.docx", DOCX, ZIP_BYTES),  # a plain zip is not a Word file
        ("照片.png", "image/png", JPEG_BYTES),
        ("申报书.pdf", "image/png", PDF_BYTES),  # declared type contradicts the extension
        ("申报书.pdf", "application/pdf", b"%PD"),
        ("坏压缩包.zip", ZIP, b"PK\x03\x04garbage"),
        ("说明.txt", "text/plain", b"hello"),
    ],
)
def test_refused_types(filename: str, declared: str, data: bytes) -> None:
    with pytest.raises(AppError) as info:
        validate_upload(filename, declared, len(data), max_bytes=MB, allowed_types=ALL, data=data)
    assert info.value.code == "UPLOAD_TYPE_NOT_ALLOWED"
    assert info.value.kind is ErrorKind.INVALID
    assert "不支持该文件类型" in info.value.message


def test_a_type_the_call_does_not_allow_is_refused_and_named() -> None:
    with pytest.raises(AppError) as info:
        validate_upload("照片.png", "image/png", 40, max_bytes=MB, allowed_types={PDF, OFD}, data=PNG_BYTES)
    assert info.value.code == "UPLOAD_TYPE_NOT_ALLOWED"
    assert "PDF" in info.value.message
    assert "OFD" in info.value.message
    assert info.value.details["allowed_types"] == sorted({PDF, OFD})


def test_empty_and_too_large() -> None:
    with pytest.raises(AppError) as info:
        validate_upload("a.pdf", PDF, 0, max_bytes=MB, allowed_types=ALL, data=b"")
    assert info.value.code == "UPLOAD_EMPTY"
    assert "为空" in info.value.message
    big = PDF_BYTES + b"0" * (20 * MB)
    with pytest.raises(AppError) as info:
        validate_upload("a.pdf", PDF, len(big), max_bytes=20 * MB, allowed_types=ALL, data=big)
    assert info.value.code == "UPLOAD_TOO_LARGE"
    assert "20 MB" in info.value.message
    assert info.value.details == {"filename": "a.pdf", "size": len(big), "max_bytes": 20 * MB}


def test_the_bytes_decide_the_size_not_the_declared_one() -> None:
    with pytest.raises(AppError, match="UPLOAD_TOO_LARGE"):
        validate_upload("a.pdf", PDF, 10, max_bytes=100, allowed_types=ALL, data=PDF_BYTES + b"0" * 200)


def test_without_bytes_the_name_type_and_size_are_still_checked() -> None:
    assert validate_upload("a.pdf", PDF, 10, max_bytes=100, allowed_types=ALL).content_type == PDF
    with pytest.raises(AppError, match="UPLOAD_TOO_LARGE"):
        validate_upload("a.pdf", PDF, 101, max_bytes=100, allowed_types=ALL)


@pytest.mark.parametrize(
    "filename",
    [
        "",
        "   ",
        "../../etc/passwd.pdf",
        "a/b.pdf",
        "a\\b.pdf",
        "a\x00.pdf",
        "报告\n.pdf",
        ".pdf",
        "报告.",
        "报告",
        "a:b.pdf",
        "长" * 90 + ".pdf",
    ],
)
def test_bad_names_are_refused(filename: str) -> None:
    with pytest.raises(AppError) as info:
        validate_upload(filename, PDF, len(PDF_BYTES), max_bytes=MB, allowed_types=ALL, data=PDF_BYTES)
    assert info.value.code == "UPLOAD_NAME_INVALID"
    assert info.value.message.startswith("文件名不合法")


def test_names_are_normalised() -> None:
    decomposed = "Cafe\u0301 说明.pdf"
    checked = validate_upload(f"  {decomposed} ", PDF, 10, max_bytes=MB, allowed_types=ALL, data=PDF_BYTES)
    assert checked.filename == "Café 说明.pdf"


def test_unknown_allowed_type_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown upload type"):
        validate_upload("a.pdf", PDF, 10, max_bytes=MB, allowed_types={"application/x-msdownload"})
