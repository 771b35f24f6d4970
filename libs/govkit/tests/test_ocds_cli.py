"""``govproj procurement import-ocds``: streamed batches and its one-line refusals (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from govkit import cli, ocds_cli

SAMPLE = Path(__file__).resolve().parents[3] / "services/procurement/tests/data/ocds-release-package.json"


def test_batches_stream_the_releases_in_file_order() -> None:
    sizes = [len(b) for b in ocds_cli.batches(SAMPLE, 3)]
    assert sizes == [3, 1]
    ids = [r["id"] for b in ocds_cli.batches(SAMPLE, 2) for r in b]
    assert ids == [r["id"] for r in json.loads(SAMPLE.read_text(encoding="utf-8"))["releases"]]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as ended:
        cli.main(["procurement", "import-ocds", *args])
    return int(ended.value.code or 0), capsys.readouterr().err


def test_refusals_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ocds_cli.SECRET_ENV, raising=False)
    code, err = run(capsys, str(SAMPLE), "--tenant", "county-b")
    assert code == 2 and ocds_cli.SECRET_ENV in err
    monkeypatch.setenv(ocds_cli.SECRET_ENV, "k")
    broken = tmp_path / "broken.json"
    broken.write_text('{"releases": [', encoding="utf-8")
    code, err = run(capsys, str(broken), "--tenant", "county-b")
    assert code == 2 and "end of file" in err
    not_a_package = tmp_path / "meta.json"
    not_a_package.write_text('{"version": "1.1", "releases": []}', encoding="utf-8")
    code, err = run(capsys, str(not_a_package), "--tenant", "county-b")
    assert code == 2 and "publisher" in err
    code, err = run(capsys, str(SAMPLE), "--tenant", "county-b", "--url", "http://127.0.0.1:1", "--quiet")
    assert code == 2 and err.startswith("govproj: http://127.0.0.1:1/v1/trading/webhook/county-b")
