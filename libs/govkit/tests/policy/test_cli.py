"""``govproj policy`` as a subprocess, exactly as an operator runs it (POLICY-CONTRACT.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

GOVPROJ = Path(sys.executable).parent / "govproj"


def run(
    args: list[str], *, stdin: str | None = None, policies: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GOVPROJ_POLICIES_DIR"}
    if policies is not None:
        env["GOVPROJ_POLICIES_DIR"] = str(policies)
    return subprocess.run(
        [str(GOVPROJ), "policy", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


BAD_INPUT = {
    "unknown-pack": (["evaluate", "--pack", "nope", "--facts", "-"], '{"amount": 1}', "unknown pack 'nope'"),
    "show-unknown-pack": (["show", "nope"], None, "unknown pack 'nope'"),
    "unreadable-file": (
        ["evaluate", "--pack", "lhasa", "--facts", "/nonexistent/facts.json"],
        None,
        "cannot read facts",
    ),
    "bad-json": (["evaluate", "--pack", "lhasa", "--facts", "-"], "{not json", "not valid JSON"),
    "wrong-type": (["evaluate", "--pack", "lhasa", "--facts", "-"], '{"amount": "100"}', "fact 'amount'"),
    "unknown-key": (
        ["evaluate", "--pack", "lhasa", "--facts", "-"],
        '{"amount": 1, "amout": 2}',
        "unknown fact 'amout'",
    ),
}


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory, made_up_dir: Path
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every command of this module, run once and in parallel (each process pays ~1 s of imports)."""
    facts = tmp_path_factory.mktemp("facts") / "facts.json"
    facts.write_text(json.dumps({"amount": 1000000.00, "category": "business_app"}), encoding="utf-8")
    jobs: dict[str, tuple[list[str], str | None, Path | None]] = {
        "list": (["list"], None, None),
        "list-env": (["list"], None, made_up_dir),
        "show": (["show", "lhasa"], None, None),
        "evaluate-file": (["evaluate", "--pack", "wuxing-2023", "--facts", str(facts)], None, None),
        "evaluate-stdin": (
            ["evaluate", "--pack", "lhasa", "--facts", "-"],
            '{"amount": 9999999.99, "simple": true}',
            None,
        ),
        **{name: (args, stdin, None) for name, (args, stdin, _) in BAD_INPUT.items()},
    }
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {
            name: pool.submit(run, args, stdin=stdin, policies=pol)
            for name, (args, stdin, pol) in jobs.items()
        }
        return {name: f.result() for name, f in futures.items()}


def ok_json(proc: subprocess.CompletedProcess[str]) -> Any:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_list(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    packs = ok_json(runs["list"])
    assert [p["id"] for p in packs] == [
        "heze-2021",
        "lhasa",
        "qiaokou-2022",
        "shuangyashan-2024",
        "wuxing-2023",
    ]
    for p in packs:
        assert set(p) == {"id", "title", "doc_number", "effective_from", "effective_until"}
    heze = packs[0]
    assert heze["doc_number"] == "菏政办字〔2021〕1号"
    assert heze["effective_until"] == "2022-12-27"


def test_list_uses_policies_dir_env(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    assert [p["id"] for p in ok_json(runs["list-env"])] == [
        "otherland-2031",
        "testland-2030",
        "testland-2035",
    ]


def test_show(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    pack = ok_json(runs["show"])
    assert pack["id"] == "lhasa"
    assert pack["doc_number"] is None
    assert pack["title"] == "拉萨市政务信息化项目建设管理办法"
    amount = pack["rules"]["financial_review"]["cases"][0]["when"]["amount"]
    assert amount == 100_000_000 and isinstance(amount, int)  # Decimal as a JSON number


def test_evaluate_from_file(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    out = ok_json(runs["evaluate-file"])
    assert out["pack"] == "wuxing-2023"
    assert out["requirements"]["supervision_required"] == {"value": True, "cite": ["wuxing-2023 §17"]}
    assert out["requirements"]["trial_run_min_months"] == {"value": 1, "cite": ["wuxing-2023 §20"]}
    assert len(out["requirements"]) == 24


def test_evaluate_from_stdin(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    out = ok_json(runs["evaluate-stdin"])
    assert out["requirements"]["alternative_documents"]["value"] == [
        ["implementation_plan", "preliminary_design"]
    ]
    assert out["requirements"]["required_documents"] == {"value": ["crypto_plan"], "cite": ["lhasa §10"]}


def test_json_is_not_ascii_escaped(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    assert "拉萨市" in runs["show"].stdout


@pytest.mark.parametrize("name", list(BAD_INPUT))
def test_bad_input_exit_2_one_line(runs: dict[str, subprocess.CompletedProcess[str]], name: str) -> None:
    proc = runs[name]
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert BAD_INPUT[name][2] in lines[0]
