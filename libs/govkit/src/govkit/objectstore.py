"""Object store port: uploaded materials and generated documents live here, not in PostgreSQL.

Services keep only the key, size, SHA-256 and content type of an object in their tables (the
:class:`StoredObject` :meth:`ObjectStore.put` returns) and the bytes here. Two implementations:

* :class:`LocalObjectStore` — a folder, for ``make dev`` and tests (``file:///var/lib/govproj/objects``);
* :class:`S3ObjectStore` — any S3-compatible store (MinIO, Ceph RGW, a cloud's OSS with an S3
  endpoint) for production (``s3://bucket?endpoint=https://minio:9000&region=cn-north-1``).

:func:`object_store_from_settings` picks one from a URL. :func:`validate_upload` checks an upload
(name, declared type, size, magic bytes) before anything is stored, with stable error codes and
Chinese messages a clerk can act on.

Keys are chosen by services (e.g. ``{tenant}/declarations/{id}/{sha256}.pdf``), never taken
verbatim from a user's file name: :func:`validate_key` refuses anything that could leave the store's
root (``..``, absolute paths, backslashes, control characters).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qs, unquote, urlsplit

from govkit.errors import AppError, ErrorKind

# --------------------------------------------------------------------------------------------
# The port
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredObject:
    """What a service records about an object it stored: enough to find and verify it later."""

    key: str
    size: int
    sha256: str  # lower-case hex digest of the bytes
    content_type: str


@runtime_checkable
class ObjectStore(Protocol):
    """Where uploaded materials and generated documents are kept."""

    async def put(self, key: str, data: bytes, *, content_type: str) -> StoredObject:
        """Store ``data`` under ``key`` (replacing what was there) and describe what was stored."""
        ...

    async def get(self, key: str) -> bytes:
        """The bytes under ``key``; :class:`AppError` ``OBJECT_NOT_FOUND`` when there are none."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object under ``key``; removing a missing object is not an error (as in S3)."""
        ...


# Segments are what a service builds keys from: ids, hashes, tenant codes, extensions. A leading
# dot is refused so that a key can never collide with LocalObjectStore's temporary files.
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.=+-]*$")
_MAX_KEY_BYTES = 1024  # S3's limit on key length


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative object key, else raise ``OBJECT_KEY_INVALID``.

    A key is ``/``-separated segments of ASCII letters, digits and ``_ . = + -``; no segment is
    empty, ``.`` or ``..`` or starts with a dot, so a key cannot escape a LocalObjectStore's root nor
    mean different objects on different stores.
    """
    segments = key.split("/")
    ok = (
        bool(key)
        and len(key.encode("utf-8")) <= _MAX_KEY_BYTES
        and all(_SEGMENT_RE.match(s) and s not in {".", ".."} for s in segments)
    )
    if not ok:
        raise AppError(
            code="OBJECT_KEY_INVALID",
            message="文件存储路径不合法。",
            kind=ErrorKind.INVALID,
            details={"key": key[:200]},
        )
    return key


def _not_found(key: str) -> AppError:
    return AppError(
        code="OBJECT_NOT_FOUND",
        message="未找到该文件，可能已被删除。",
        kind=ErrorKind.NOT_FOUND,
        details={"key": key},
    )


def _describe(key: str, data: bytes, content_type: str) -> StoredObject:
    return StoredObject(
        key=key, size=len(data), sha256=hashlib.sha256(data).hexdigest(), content_type=content_type
    )


# --------------------------------------------------------------------------------------------
# Local folder
# --------------------------------------------------------------------------------------------


class LocalObjectStore:
    """Objects as files under ``root`` (dev and tests). Writes are atomic: temp file, fsync, rename.

    The content type is not kept on disk; services store it with the key (:class:`StoredObject`).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        validate_key(key)
        root = self.root.resolve()
        path = (root / key).resolve()
        # validate_key already forbids "..": this also catches a symlink inside root pointing out.
        if not path.is_relative_to(root) or path == root:
            raise AppError(
                code="OBJECT_KEY_INVALID",
                message="文件存储路径不合法。",
                kind=ErrorKind.INVALID,
                details={"key": key},
            )
        return path

    async def put(self, key: str, data: bytes, *, content_type: str) -> StoredObject:
        """Write ``data`` to ``root/key`` atomically (readers see the old or the new bytes, never half)."""
        path = self._path(key)
        await asyncio.to_thread(self._write, path, data)
        return _describe(key, data, content_type)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes:
        """The bytes of ``root/key``."""
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise _not_found(key) from None

    async def exists(self, key: str) -> bool:
        """Whether ``root/key`` is a stored file."""
        path = self._path(key)
        return await asyncio.to_thread(path.is_file)

    async def delete(self, key: str) -> None:
        """Remove ``root/key`` if present."""
        path = self._path(key)
        try:
            await asyncio.to_thread(path.unlink)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return


# --------------------------------------------------------------------------------------------
# S3-compatible
# --------------------------------------------------------------------------------------------


class S3ObjectStore:
    """Objects in an S3-compatible bucket through boto3, each call in a worker thread.

    Path-style addressing (``endpoint/bucket/key``) because MinIO and most on-premises stores
    serve buckets that way; signature v4. Integrity: ``Content-MD5`` (which every S3-compatible store
    verifies) and the SHA-256 kept as ``sha256`` user metadata; botocore's newer default CRC32
    checksums are turned off (``when_required``) because several on-premises stores refuse them.
    ``client`` is the boto3 client, exposed so tests can put a ``botocore.stub.Stubber`` on it.
    """

    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None,
        region: str,
        access_key: str,
        secret_key: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_attempts: int = 3,
    ) -> None:
        import boto3  # boto3 is heavy to import: only production pays for it
        from botocore.config import Config

        self.bucket = bucket
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"max_attempts": max_attempts, "mode": "standard"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def _put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        stored = _describe(key, data, content_type)
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode("ascii"),  # noqa: S324
            Metadata={"sha256": stored.sha256},
        )
        return stored

    async def put(self, key: str, data: bytes, *, content_type: str) -> StoredObject:
        """PUT the object; the store rejects it if the bytes do not match the SHA-256 sent."""
        validate_key(key)
        return await asyncio.to_thread(self._put, key, data, content_type)

    def _get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.NoSuchKey:
            raise _not_found(key) from None
        except Exception as exc:
            if _is_missing(exc):
                raise _not_found(key) from None
            raise
        body = response["Body"]
        try:
            data: bytes = body.read()
        finally:
            body.close()
        return data

    async def get(self, key: str) -> bytes:
        """GET the object's bytes."""
        validate_key(key)
        return await asyncio.to_thread(self._get, key)

    def _exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if _is_missing(exc):
                return False
            raise
        return True

    async def exists(self, key: str) -> bool:
        """HEAD the object: a 404 is ``False``, any other failure propagates."""
        validate_key(key)
        return await asyncio.to_thread(self._exists, key)

    async def delete(self, key: str) -> None:
        """DELETE the object (S3 answers 204 for a missing key too)."""
        validate_key(key)
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=key)


def _is_missing(exc: BaseException) -> bool:
    """Whether a botocore ClientError means "no such object" (404 / NoSuchKey / NotFound)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in {"404", "NoSuchKey", "NotFound"} or status == 404  # noqa: PLR2004


# --------------------------------------------------------------------------------------------
# From settings
# --------------------------------------------------------------------------------------------

ACCESS_KEY_ENV = "GOVPROJ_OBJECT_STORE_ACCESS_KEY"
SECRET_KEY_ENV = "GOVPROJ_OBJECT_STORE_SECRET_KEY"  # noqa: S105  (a variable's name, not a secret)


def object_store_from_settings(
    url: str,
    *,
    access_key: str | None = None,
    secret_key: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ObjectStore:
    """The object store a settings URL names.

    * ``file:///absolute/path`` → :class:`LocalObjectStore` rooted there;
    * ``s3://bucket?endpoint=https://minio.internal:9000&region=cn-north-1`` → :class:`S3ObjectStore`
      (``endpoint`` may be left out for AWS itself; ``region`` defaults to ``us-east-1``, which
      MinIO accepts).

    S3 credentials never appear in the URL (a URL with ``user:password@`` is refused, since URLs end
    up in logs): pass ``access_key``/``secret_key`` (e.g. from SecretStr settings), or set the
    environment variables ``GOVPROJ_OBJECT_STORE_ACCESS_KEY`` and ``GOVPROJ_OBJECT_STORE_SECRET_KEY``
    (read from ``environ``, default ``os.environ``). Raises ``ValueError`` for a bad URL.
    """
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise ValueError("object store URL must not contain credentials; use the environment variables")
    if parts.scheme == "file":
        if parts.netloc not in {"", "localhost"} or not parts.path.startswith("/"):
            raise ValueError(f"bad object store URL {url!r}: expected file:///absolute/path")
        return LocalObjectStore(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        bucket = parts.netloc
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket) or parts.path not in {"", "/"}:
            raise ValueError(f"bad object store URL {url!r}: expected s3://bucket?endpoint=...&region=...")
        query = {k: v[-1] for k, v in parse_qs(parts.query, strict_parsing=False).items()}
        unknown = set(query) - {"endpoint", "region"}
        if unknown:
            raise ValueError(
                f"bad object store URL {url!r}: unknown parameter(s) {', '.join(sorted(unknown))}"
            )
        env = os.environ if environ is None else environ
        access = access_key if access_key is not None else env.get(ACCESS_KEY_ENV)
        secret = secret_key if secret_key is not None else env.get(SECRET_KEY_ENV)
        if not access or not secret:
            raise ValueError(f"S3 object store needs credentials: set {ACCESS_KEY_ENV} and {SECRET_KEY_ENV}")
        return S3ObjectStore(
            bucket=bucket,
            endpoint_url=query.get("endpoint"),
            region=query.get("region", "us-east-1"),
            access_key=access,
            secret_key=secret,
        )
    raise ValueError(f"bad object store URL {url!r}: scheme must be file or s3")


# --------------------------------------------------------------------------------------------
# Upload validation
# --------------------------------------------------------------------------------------------

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP = "application/zip"
PNG = "image/png"
JPEG = "image/jpeg"
OFD = "application/ofd"  # GB/T 33190 版式文档


@dataclass(frozen=True)
class UploadType:
    """A file type uploads may have: its MIME type, extensions, other names browsers send, label."""

    content_type: str
    extensions: frozenset[str]
    aliases: frozenset[str]
    label_zh: str


UPLOAD_TYPES: dict[str, UploadType] = {
    t.content_type: t
    for t in (
        UploadType(PDF, frozenset({".pdf"}), frozenset({"application/x-pdf"}), "PDF"),
        UploadType(DOCX, frozenset({".docx"}), frozenset(), "Word（.docx）"),
        UploadType(XLSX, frozenset({".xlsx"}), frozenset(), "Excel（.xlsx）"),
        UploadType(
            ZIP, frozenset({".zip"}), frozenset({"application/x-zip-compressed", "application/x-zip"}), "ZIP"
        ),
        UploadType(PNG, frozenset({".png"}), frozenset(), "PNG 图片"),
        UploadType(JPEG, frozenset({".jpg", ".jpeg"}), frozenset({"image/pjpeg", "image/jpg"}), "JPEG 图片"),
        UploadType(OFD, frozenset({".ofd"}), frozenset({"application/x-ofd"}), "OFD 版式文件"),
    )
}

# What browsers and HTTP clients send when they do not know better; the magic bytes decide then.
_GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_MAX_NAME_BYTES = 255  # what most file systems allow for one name
_BAD_NAME_CHARS = frozenset('/\\:*?"<>|')


@dataclass(frozen=True)
class CheckedUpload:
    """An upload that passed :func:`validate_upload`: the cleaned name and the sniffed type."""

    filename: str
    content_type: str  # the canonical MIME type, from the content, to store with the object
    size: int


def sniff_content_type(data: bytes) -> str | None:
    """The type of ``data`` from its magic bytes (and, for ZIP containers, the entries), or ``None``.

    DOCX, XLSX and OFD are ZIP files; they are told apart by the entries Office Open XML
    (``word/document.xml``, ``xl/workbook.xml``) and GB/T 33190 (``OFD.xml``) require. Only the
    central directory is read, nothing is decompressed.
    """
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError, EOFError):
            return None
        if "word/document.xml" in names:
            return DOCX
        if "xl/workbook.xml" in names:
            return XLSX
        if "OFD.xml" in names:
            return OFD
        return ZIP
    return None


def _name_invalid(filename: str, reason: str) -> AppError:
    return AppError(
        code="UPLOAD_NAME_INVALID",
        message=f"文件名不合法：{reason}。请修改文件名后重新上传。",
        kind=ErrorKind.INVALID,
        details={"filename": filename[:300]},
    )


def _clean_name(filename: str) -> str:
    name = unicodedata.normalize("NFC", filename).strip()
    if not name:
        raise _name_invalid(filename, "文件名为空")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise _name_invalid(filename, "包含控制字符")
    if any(ch in _BAD_NAME_CHARS for ch in name):
        raise _name_invalid(filename, '不能包含 / \\ : * ? " < > | 等字符')
    if name.startswith(".") or name.endswith("."):
        raise _name_invalid(filename, "不能以“.”开头或结尾")
    if len(name.encode("utf-8")) > _MAX_NAME_BYTES:
        raise _name_invalid(filename, "文件名过长")
    if not Path(name).suffix or Path(name).stem == "":
        raise _name_invalid(filename, "缺少文件扩展名")
    return name


def _type_refused(filename: str, allowed: Collection[str], **details: Any) -> AppError:
    labels = "、".join(UPLOAD_TYPES[t].label_zh for t in sorted(allowed))
    return AppError(
        code="UPLOAD_TYPE_NOT_ALLOWED",
        message=f"不支持该文件类型，或文件内容与扩展名不符。允许的类型：{labels}。",
        kind=ErrorKind.INVALID,
        details={"filename": filename, "allowed_types": sorted(allowed), **details},
    )


def _megabytes(size: int) -> str:
    mb = size / (1024 * 1024)
    return f"{mb:.0f}" if mb >= 1 else f"{mb:.2f}"


def validate_upload(
    filename: str,
    content_type: str,
    size: int,
    *,
    max_bytes: int,
    allowed_types: Collection[str],
    data: bytes | None = None,
) -> CheckedUpload:
    """Check an upload before it is stored; raise :class:`AppError` (kind INVALID) if it is refused.

    ``allowed_types`` are MIME types from :data:`UPLOAD_TYPES` (the constants ``PDF``, ``DOCX``,
    ``XLSX``, ``ZIP``, ``PNG``, ``JPEG``, ``OFD``). Checks, in order, with their codes:

    * ``UPLOAD_NAME_INVALID`` — empty name, control characters, path separators or other characters
      Windows refuses, leading/trailing dot, longer than 255 bytes, no extension;
    * ``UPLOAD_EMPTY`` — zero bytes;
    * ``UPLOAD_TOO_LARGE`` — more than ``max_bytes``;
    * ``UPLOAD_TYPE_NOT_ALLOWED`` — the extension is not one of an allowed type, the declared
      ``content_type`` names another type, or the content (``data``, the whole file) is not what
      the extension says: a renamed ``.exe`` is refused.

    Pass ``data`` whenever the bytes are at hand (always, before :meth:`ObjectStore.put`); without it
    only the name, declared type and size are checked. When ``data`` is given its length is the size.
    Returns the cleaned name (NFC, stripped) and the canonical content type to store.
    """
    unknown = set(allowed_types) - set(UPLOAD_TYPES)
    if unknown:
        raise ValueError(f"unknown upload type(s) {sorted(unknown)}; use the constants in govkit.objectstore")
    name = _clean_name(filename)
    actual_size = len(data) if data is not None else size
    if actual_size <= 0:
        raise AppError(
            code="UPLOAD_EMPTY",
            message="上传的文件为空，请检查后重新上传。",
            kind=ErrorKind.INVALID,
            details={"filename": name},
        )
    if actual_size > max_bytes:
        raise AppError(
            code="UPLOAD_TOO_LARGE",
            message=f"文件大小超过上限（{_megabytes(max_bytes)} MB），请压缩或拆分后重新上传。",
            kind=ErrorKind.INVALID,
            details={"filename": name, "size": actual_size, "max_bytes": max_bytes},
        )
    extension = Path(name).suffix.lower()
    by_extension = next((t for t in UPLOAD_TYPES.values() if extension in t.extensions), None)
    if by_extension is None or by_extension.content_type not in allowed_types:
        raise _type_refused(name, allowed_types, extension=extension)
    declared = content_type.split(";", 1)[0].strip().lower()
    if declared not in _GENERIC_TYPES and declared not in {by_extension.content_type, *by_extension.aliases}:
        raise _type_refused(name, allowed_types, extension=extension, declared=declared)
    if data is not None:
        sniffed = sniff_content_type(data)
        # A .zip may hold anything packed as ZIP, including an Office file or an OFD.
        zip_family = {ZIP, DOCX, XLSX, OFD}
        matches = sniffed == by_extension.content_type or (
            by_extension.content_type == ZIP and sniffed in zip_family
        )
        if not matches:
            raise _type_refused(
                name, allowed_types, extension=extension, declared=declared, detected=sniffed or "unknown"
            )
    return CheckedUpload(filename=name, content_type=by_extension.content_type, size=actual_size)


__all__ = [
    "DOCX",
    "JPEG",
    "OFD",
    "PDF",
    "PNG",
    "UPLOAD_TYPES",
    "XLSX",
    "ZIP",
    "CheckedUpload",
    "LocalObjectStore",
    "ObjectStore",
    "S3ObjectStore",
    "StoredObject",
    "UploadType",
    "object_store_from_settings",
    "sniff_content_type",
    "validate_key",
    "validate_upload",
]
