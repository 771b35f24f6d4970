"""OCDS 1.1 release packages: the official schemas kept as data (govkit/ocds_schema) and a reader
that streams a package's releases one at a time, so a 10,000-release file is read in bounded memory.

    with open(path, "rb") as fp:
        for kind, value in stream_package(fp):      # ("release", {...}) ..., then ("meta", {...})
            ...

Validation uses jsonschema against the release schema for each release and against the package
schema for the package's own fields (``validate_package_meta``), so the two together check what
validating the whole package at once would, without holding it in memory.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import IO, Any

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT4

SCHEMA_DIR = Path(__file__).resolve().parent / "ocds_schema"
RELEASE_SCHEMA = "release-schema.json"
PACKAGE_SCHEMA = "release-package-schema.json"
VERSION = "1.1"
CHUNK = 64 * 1024
MAX_ERRORS = 20
_WHITESPACE = " \t\r\n"


class OcdsFormatError(ValueError):
    """The file is not a JSON release package (syntax or shape)."""


SCHEMA_VERSION = "1__1__5"  # the path segment of the kept schemas' canonical ids


def _refuse_retrieval(uri: str) -> Resource[Any]:
    """Nothing is fetched at run time (PITFALLS.md, OCDS): a $ref outside the kept files fails."""
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


@cache
def _schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    release = json.loads((SCHEMA_DIR / RELEASE_SCHEMA).read_text(encoding="utf-8"))
    package = json.loads((SCHEMA_DIR / PACKAGE_SCHEMA).read_text(encoding="utf-8"))
    return release, package


@cache
def _registry() -> Registry[Any]:
    """Both kept schemas under their canonical draft-04 ``id`` URLs, and no retrieval."""
    release, package = _schemas()
    registry: Registry[Any] = Registry(retrieve=_refuse_retrieval)  # type: ignore[call-arg]
    return registry.with_resources(
        (schema["id"], Resource.from_contents(schema, default_specification=DRAFT4))
        for schema in (release, package)
    )


@cache
def release_validator() -> Draft4Validator:
    """A validator of one release against the OCDS 1.1.5 release schema."""
    release, _ = _schemas()
    return Draft4Validator(release, registry=_registry())


@cache
def package_validator() -> Draft4Validator:
    """A validator of a release package: its ``$ref`` to the release schema's canonical URL
    resolves to the kept release-schema.json through the local registry, never the network."""
    _, package = _schemas()
    return Draft4Validator(package, registry=_registry())


def _messages(errors: Iterator[Any], prefix: str = "") -> list[str]:
    out = []
    for error in errors:
        where = "/".join(str(p) for p in error.absolute_path)
        out.append(f"{prefix}{where or '(root)'}: {error.message}")
        if len(out) >= MAX_ERRORS:
            break
    return out


def validate_release(release: Any) -> list[str]:
    """Schema errors of one release (empty when valid)."""
    return _messages(release_validator().iter_errors(release))


def validate_package_meta(
    meta: dict[str, Any], *, release_count: int, first_release: Any = None
) -> list[str]:
    """Schema errors of a package's own fields; the releases are checked one by one elsewhere, so
    the package is validated with its first release standing in for the array."""
    errors = []
    if release_count < 1:
        errors.append("releases: the package has no release")
    shell = {**meta, "releases": [first_release] if first_release is not None else []}
    found = package_validator().iter_errors(shell)
    errors += [e for e in _messages(found) if not e.startswith("releases")]
    version = meta.get("version")
    if isinstance(version, str) and version != VERSION:
        errors.append(f"version: {version!r} is not the supported OCDS version {VERSION}")
    return errors


class _Reader:
    """Incremental JSON tokens over a binary stream (UTF-8)."""

    def __init__(self, fp: IO[bytes], chunk: int) -> None:
        self.fp = fp
        self.chunk = chunk
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.json = json.JSONDecoder()
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.bytes_read = 0

    def _fill(self) -> bool:
        if self.eof:
            return False
        data = self.fp.read(self.chunk)
        self.bytes_read += len(data)
        if not data:
            self.eof = True
            text = self.decoder.decode(b"", final=True)
        else:
            text = self.decoder.decode(data)
        self.buf = self.buf[self.pos :] + text
        self.pos = 0
        return bool(data) or bool(text)

    def peek(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                raise OcdsFormatError("unexpected end of file")

    def expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            raise OcdsFormatError(f"expected {char!r} at byte ~{self.bytes_read}, found {found!r}")
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                obj, end = self.json.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self._fill():
                    continue
                raise OcdsFormatError(f"invalid JSON: {exc.msg}") from None
            # A number or literal cut by the chunk boundary decodes short: read on and retry.
            cut = end == len(self.buf) and not self.eof and not isinstance(obj, dict | list | str)
            if cut and self._fill():
                continue
            self.pos = end
            return obj


class PackageStream:
    """A package's items in file order: ``("release", release)`` for each release, then
    ``("meta", fields)`` with the package's other fields; ``bytes_read`` drives a progress bar."""

    def __init__(self, fp: IO[bytes], *, chunk: int = CHUNK) -> None:
        self._reader = _Reader(fp, chunk)

    @property
    def bytes_read(self) -> int:
        """Bytes consumed from the file so far."""
        return self._reader.bytes_read

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        reader = self._reader
        meta: dict[str, Any] = {}
        reader.expect("{")
        if reader.peek() == "}":
            reader.pos += 1
            yield "meta", meta
            return
        while True:
            key = reader.value()
            if not isinstance(key, str):
                raise OcdsFormatError("a package is a JSON object")
            reader.expect(":")
            if key == "releases" and reader.peek() == "[":
                reader.pos += 1
                yield from self._releases()
            else:
                meta[key] = reader.value()
            if reader.peek() == ",":
                reader.pos += 1
                continue
            reader.expect("}")
            break
        yield "meta", meta

    def _releases(self) -> Iterator[tuple[str, Any]]:
        reader = self._reader
        if reader.peek() == "]":
            reader.pos += 1
            return
        while True:
            yield "release", reader.value()
            if reader.peek() == ",":
                reader.pos += 1
                continue
            reader.expect("]")
            return


def stream_package(fp: IO[bytes], *, chunk: int = CHUNK) -> Iterator[tuple[str, Any]]:
    """Iterate a package file (see :class:`PackageStream`); raises :class:`OcdsFormatError` for a
    malformed file."""
    return iter(PackageStream(fp, chunk=chunk))
