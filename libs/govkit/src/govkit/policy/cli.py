"""``govproj policy``: list, show and evaluate packs (POLICY-CONTRACT.md, "Command line").

JSON on stdout (UTF-8, not escaped); bad input raises :class:`govkit.cli.CliError`, which
``govkit.cli.main`` prints as one line on stderr with exit code 2.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from govkit.cli import CliError
from govkit.policy.evaluate import FactsError, evaluate
from govkit.policy.loader import PolicyError, PolicyRegistry, UnknownPackError
from govkit.policy.model import Pack

app = typer.Typer(
    name="policy",
    help="Policy packs: list them, show one, evaluate one against a project's facts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _plain(data: Any) -> Any:
    """Decimals as JSON numbers (exact integers as integers), dates as ISO strings."""
    if isinstance(data, Decimal):
        # A float's repr is the shortest text that round-trips, so "0.15" stays "0.15".
        return int(data) if data == data.to_integral_value() else float(data)
    if isinstance(data, date):
        return data.isoformat()
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_plain(v) for v in data]
    return data


def _without_none(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _without_none(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [_without_none(v) for v in data]
    return data


def _dumps(data: Any) -> str:
    return json.dumps(_plain(data), ensure_ascii=False, indent=2)


def _registry() -> PolicyRegistry:
    try:
        return PolicyRegistry.load()
    except PolicyError as exc:
        raise CliError(str(exc)) from exc


def _pack(registry: PolicyRegistry, pack_id: str) -> Pack:
    try:
        return registry.get(pack_id)
    except UnknownPackError as exc:
        raise CliError(str(exc)) from exc


def _echo(data: Any) -> None:
    sys.stdout.write(_dumps(data) + "\n")


@app.command("list")
def list_packs() -> None:
    """List the packs: id, title, document number and effective dates."""
    registry = _registry()
    _echo(
        [
            {
                "id": p.id,
                "title": p.title,
                "doc_number": p.doc_number,
                "effective_from": p.effective_from.isoformat(),
                "effective_until": p.effective_until.isoformat() if p.effective_until else None,
            }
            for p in registry
        ]
    )


@app.command("show")
def show(
    pack_id: Annotated[str, typer.Argument(metavar="ID", help="pack id, as listed by `govproj policy list`")],
) -> None:
    """Show one pack as JSON, as loaded and validated."""
    pack = _pack(_registry(), pack_id)
    body = pack.model_dump(mode="python", by_alias=True)
    # Unset optional parts of rules are noise; the header fields stay even when null (no 文号).
    _echo({k: (v if v is None else _without_none(v)) for k, v in body.items()})


def _read_facts(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read facts from {source}: {getattr(exc, 'strerror', None) or exc}") from exc
    try:
        # Amounts stay exact: JSON numbers with a fraction become Decimal, never float.
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        where = "stdin" if source == "-" else source
        raise CliError(f"facts in {where} are not valid JSON: {exc.msg} (line {exc.lineno})") from exc


@app.command("evaluate")
def evaluate_cmd(
    pack_id: Annotated[str, typer.Option("--pack", help="pack id")],
    facts: Annotated[str, typer.Option("--facts", help="facts JSON file, or - for stdin")],
) -> None:
    """Evaluate a pack against a project's facts; every contract key with its citations."""
    pack = _pack(_registry(), pack_id)
    raw = _read_facts(facts)
    try:
        result = evaluate(pack, raw)
    except FactsError as exc:
        raise CliError(str(exc)) from exc
    _echo(result.to_json())
