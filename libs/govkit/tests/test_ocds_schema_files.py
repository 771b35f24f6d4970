"""The kept OCDS schemas are the official 1.1.5 files, unchanged (SHA-256 as in their README),
and the package schema's $ref resolves locally."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from referencing.exceptions import Unresolvable

from govkit import ocds

README = ocds.SCHEMA_DIR / "README.md"


def _readme_hashes() -> dict[str, str]:
    rows = re.findall(r"^\| `([\w.-]+\.json)` \|.*\| `([0-9a-f]{64})` \|$", README.read_text(), re.M)
    return dict(rows)


def test_the_readme_lists_the_sha256_of_each_kept_file() -> None:
    hashes = _readme_hashes()
    assert set(hashes) == {ocds.RELEASE_SCHEMA, ocds.PACKAGE_SCHEMA}
    for name, expected in hashes.items():
        assert hashlib.sha256((ocds.SCHEMA_DIR / name).read_bytes()).hexdigest() == expected, name


@pytest.mark.parametrize("name", [ocds.RELEASE_SCHEMA, ocds.PACKAGE_SCHEMA])
def test_the_kept_files_are_the_1_1_5_draft_04_schemas(name: str) -> None:
    schema = json.loads((ocds.SCHEMA_DIR / name).read_text(encoding="utf-8"))
    assert schema["id"] == f"https://standard.open-contracting.org/schema/1__1__5/{name}"
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert "$id" not in schema


def test_the_package_ref_resolves_to_the_kept_release_schema_without_network() -> None:
    release, package = ocds._schemas()
    ref = package["properties"]["releases"]["items"]["$ref"]
    assert ref == release["id"]
    resolved = ocds.package_validator()._resolver.lookup(ref)
    assert resolved.contents is release
    with pytest.raises(Unresolvable):
        ocds.package_validator()._resolver.lookup("https://standard.open-contracting.org/schema/x.json")
    bad = {"version": "1.1", "uri": "u", "publishedDate": "d", "publisher": {"name": "p"}, "releases": [{}]}
    assert any(
        "'ocid' is a required property" in e.message for e in ocds.package_validator().iter_errors(bad)
    )
