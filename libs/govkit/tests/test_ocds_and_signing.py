"""govkit.ocds (streamed release packages, the OCDS 1.1.5 schemas kept as data) and govkit.signing
(HMAC-SHA256 webhook signatures with timestamp and nonce)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from govkit import ocds, signing


def release(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "ocid": f"ocds-213czf-{n:05d}",
        "id": f"{n:05d}-award",
        "date": "2025-04-01T09:00:00+08:00",
        "tag": ["award"],
        "initiationType": "tender",
        "awards": [
            {"id": "1", "value": {"amount": 100.5, "currency": "CNY"}, "suppliers": [{"name": "某公司"}]}
        ],
        **extra,
    }


def package(releases: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "uri": "https://ggzy.example.gov.cn/ocds/2025-04.json",
        "version": "1.1",
        "publishedDate": "2025-04-02T00:00:00+08:00",
        "publisher": {"name": "示范市公共资源交易中心"},
        "releases": releases,
        **extra,
    }


@pytest.mark.parametrize("chunk", [1, 3, 17, 64 * 1024])
def test_stream_yields_each_release_then_the_package_fields(chunk: int) -> None:
    data = package([release(1), release(2)], license=None)
    raw = json.dumps(data, ensure_ascii=False).encode()
    stream = ocds.PackageStream(io.BytesIO(raw), chunk=chunk)
    items = list(stream)
    assert items[:2] == [("release", release(1)), ("release", release(2))]
    kind, meta = items[2]
    assert kind == "meta" and meta["publisher"]["name"] == "示范市公共资源交易中心" and "releases" not in meta
    assert stream.bytes_read == len(raw)


def test_releases_after_the_package_fields_and_empty_packages() -> None:
    raw = b'{"version": "1.1", "releases": [], "uri": "x"}'
    assert list(ocds.stream_package(io.BytesIO(raw))) == [("meta", {"version": "1.1", "uri": "x"})]


@pytest.mark.parametrize("raw", [b"", b"[]", b'{"releases": [1,', b'{"a" 1}', b'{"releases": [tru]}'])
def test_malformed_files_are_format_errors(raw: bytes) -> None:
    with pytest.raises(ocds.OcdsFormatError):
        list(ocds.stream_package(io.BytesIO(raw)))


def test_release_schema_checks_required_fields_and_closed_codelists() -> None:
    assert ocds.validate_release(release(1)) == []
    bad = release(1, tag=["bogus"], initiationType="auction")
    del bad["ocid"]
    errors = ocds.validate_release(bad)
    assert any("'ocid' is a required property" in e for e in errors)
    assert any(e.startswith("tag/0") for e in errors)
    assert any(e.startswith("initiationType") for e in errors)
    wrong_currency = release(1, awards=[{"id": "1", "value": {"amount": 1, "currency": "RMB"}}])
    assert any("currency" in e for e in ocds.validate_release(wrong_currency))
    contract_without_award = release(1, contracts=[{"id": "c1"}])
    assert any("'awardID' is a required property" in e for e in ocds.validate_release(contract_without_award))


def test_package_fields_are_checked_against_the_package_schema() -> None:
    meta = {k: v for k, v in package([]).items() if k != "releases"}
    assert ocds.validate_package_meta(meta, release_count=1, first_release=release(1)) == []
    errors = ocds.validate_package_meta({"version": "1.0"}, release_count=0)
    assert any("'publisher' is a required property" in e for e in errors)
    assert any("no release" in e for e in errors)
    assert any("supported OCDS version" in e for e in errors)


def test_signature_round_trip_and_refusals() -> None:
    body = b'{"releases": []}'
    headers = signing.signed_headers("s3cret", body, now=1_700_000_000, nonce="n-1")
    ok = {
        "timestamp": headers[signing.TIMESTAMP_HEADER],
        "nonce": headers[signing.NONCE_HEADER],
        "given": headers[signing.SIGNATURE_HEADER],
    }

    def check(
        secret: str = "s3cret", body: bytes = body, now: int = 1_700_000_100, **over: str
    ) -> str | None:
        return signing.verify(secret, body=body, now=now, tolerance=300, **{**ok, **over})

    assert check() is None
    assert check("other") == "WEBHOOK_BAD_SIGNATURE"
    assert check(body=b"{}") == "WEBHOOK_BAD_SIGNATURE"
    assert check(now=1_700_001_000) == "WEBHOOK_STALE_TIMESTAMP"
    assert check("") == "WEBHOOK_NOT_CONFIGURED"
    assert check(nonce="n-2") == "WEBHOOK_BAD_SIGNATURE"
