"""The ``govproj`` command line (installed into .venv by ``make setup``).

Sub-commands live next to the code they drive: ``govkit.policy.cli`` and ``govkit.workdays.cli``.
The contract for ``policy`` and ``workdays`` is ../shared/POLICY-CONTRACT.md: JSON on stdout, exit 2
with a one-line message on stderr for any bad input. Sub-commands raise :class:`CliError`; usage
errors from click are folded into the same one-line form here, once.
"""

from __future__ import annotations

import sys

import typer

# typer ships its own copy of click; its usage errors are that copy's classes, not click's.
from typer._click import exceptions as click_errors

EXIT_BAD_INPUT = 2


class CliError(Exception):
    """A bad input the user can fix: printed as one line on stderr, exit code 2."""


def _build_app() -> typer.Typer:
    # Imported here so that `govproj --help` does not pay for every sub-command's imports twice
    # and so that the sub-apps stay importable on their own in tests.
    from govkit.ocds_cli import app as procurement_app
    from govkit.policy.cli import app as policy_app
    from govkit.workdays.cli import app as workdays_app

    app = typer.Typer(
        name="govproj",
        help="govproj command line: policy packs, working days and operations.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.add_typer(policy_app, name="policy")
    app.add_typer(workdays_app, name="workdays")
    app.add_typer(procurement_app, name="procurement")
    return app


def _one_line(text: str) -> str:
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``govproj`` console script."""
    command = typer.main.get_command(_build_app())
    try:
        command.main(args=argv, prog_name="govproj", standalone_mode=False)
    except CliError as exc:
        print(f"govproj: {_one_line(str(exc))}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except click_errors.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help() if exc.ctx else "", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except click_errors.UsageError as exc:
        print(f"govproj: {_one_line(exc.format_message())}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


if __name__ == "__main__":
    # Run as ``python -m govkit.cli`` this file is ``__main__``, and the sub-commands raise the
    # CliError of ``govkit.cli``, another module object: only that module's main catches them.
    from govkit.cli import main as _main

    _main()
