"""``govproj procurement import-ocds FILE --tenant T``: send an OCDS 1.1 release package file to the
procurement service's trading-center webhook, streamed, in signed batches, with a progress bar.

The file is read twice, never whole: a first pass checks the package's own fields against the
package schema and counts the releases; the second sends them in batches of ``--batch`` releases,
each as a small release package with the same fields, signed with HMAC-SHA256 (govkit.signing)
under the key in ``$GOVPROJ_PROCUREMENT_TRADING_WEBHOOK_SECRET``. The summary of what the service
did (matched, duplicates, invalid ...) is printed as JSON on stdout; bad input exits 2.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from govkit import ocds, signing
from govkit.cli import CliError

SECRET_ENV = "GOVPROJ_PROCUREMENT_TRADING_WEBHOOK_SECRET"  # noqa: S105 - a variable's name
DEFAULT_URL = "http://127.0.0.1:8103"
COUNTS = (
    "received", "matched", "unmatched", "duplicates", "invalid", "refused", "mismatches",
    "procurements_started",
)  # fmt: skip
MAX_ERRORS = 50
TIMEOUT_SECONDS = 300.0

app = typer.Typer(help="Procurement operations: the trading center's OCDS packages.", no_args_is_help=True)


def _meta(path: Path) -> tuple[dict[str, Any], int, Any]:
    """The package's own fields, its release count and its first release (first pass)."""
    count, first = 0, None
    with path.open("rb") as fp:
        for kind, value in ocds.stream_package(fp):
            if kind == "release":
                count += 1
                first = value if first is None else first
            else:
                return value, count, first
    raise CliError(f"{path}: not a release package")  # pragma: no cover - the stream always ends with meta


def batches(path: Path, size: int, progress: Any = None, task: Any = None) -> Iterator[list[Any]]:
    """The file's releases in lists of ``size`` (second pass), advancing the progress bar by bytes."""
    with path.open("rb") as fp:
        stream = ocds.PackageStream(fp)
        batch: list[Any] = []
        for kind, value in stream:
            if kind != "release":
                continue
            batch.append(value)
            if len(batch) >= size:
                if progress is not None:
                    progress.update(task, completed=stream.bytes_read)
                yield batch
                batch = []
        if batch:
            yield batch
        if progress is not None:
            progress.update(task, completed=stream.bytes_read)


def _send(client: httpx.Client, url: str, secret: str, body: bytes) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", **signing.signed_headers(secret, body)}
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise CliError(f"{url}: {exc}") from None
    if response.status_code != httpx.codes.OK:
        raise CliError(f"{url}: HTTP {response.status_code} {response.text[:500]}")
    result: dict[str, Any] = response.json()
    return result


@app.command("import-ocds")
def import_ocds(
    file: Annotated[Path, typer.Argument(help="An OCDS 1.1 release package (JSON)")],
    tenant: Annotated[str, typer.Option(help="The tenant whose projects the releases are for")],
    url: Annotated[str, typer.Option(help="The procurement service's base URL")] = DEFAULT_URL,
    batch: Annotated[int, typer.Option(min=1, max=5000, help="Releases per signed push")] = 500,
    quiet: Annotated[bool, typer.Option(help="No progress bar")] = False,
) -> None:
    """Import a package file through the signed webhook; prints the summary as JSON."""
    secret = os.environ.get(SECRET_ENV, "")
    if not secret:
        raise CliError(f"set {SECRET_ENV} to the trading center's webhook key")
    if not file.is_file():
        raise CliError(f"{file}: no such file")
    try:
        meta, count, first = _meta(file)
    except ocds.OcdsFormatError as exc:
        raise CliError(f"{file}: {exc}") from None
    problems = ocds.validate_package_meta(meta, release_count=count, first_release=first)
    if problems:
        raise CliError(f"{file}: not an OCDS {ocds.VERSION} release package: " + "; ".join(problems[:5]))
    endpoint = f"{url.rstrip('/')}/v1/trading/webhook/{tenant}"
    total: dict[str, Any] = {k: 0 for k in COUNTS} | {"errors": []}
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with (
        httpx.Client(timeout=TIMEOUT_SECONDS) as client,
        Progress(*columns, disable=quiet, transient=False) as progress,
    ):
        task = progress.add_task(f"{file.name} → {tenant}", total=file.stat().st_size)
        for releases in batches(file, batch, progress, task):
            body = json.dumps({**meta, "releases": releases}, ensure_ascii=False).encode()
            result = _send(client, endpoint, secret, body)
            for key in COUNTS:
                total[key] += int(result.get(key, 0))
            room = MAX_ERRORS - len(total["errors"])
            total["errors"].extend(result.get("errors", [])[: max(room, 0)])
    typer.echo(json.dumps(total, ensure_ascii=False))
