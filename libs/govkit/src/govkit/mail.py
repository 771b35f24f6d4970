"""Mail port: reminders (deadlines, missing materials, acceptance due) go out through it.

* :class:`FolderMailer` writes each message as an ``.eml`` file (RFC 5322) into a folder — for
  ``make dev`` and tests; open the files with any mail client or read them back with
  :func:`email.message_from_bytes`.
* :class:`SmtpMailer` sends through an SMTP relay with :mod:`smtplib`, in a worker thread so the
  event loop is never blocked.

:func:`mailer_from_settings` picks one from a URL. Subjects and bodies are Chinese: headers are
encoded as RFC 2047 UTF-8 words and bodies as UTF-8 by :class:`email.message.EmailMessage`.
"""

from __future__ import annotations

import asyncio
import os
import re
import smtplib
import ssl
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qs, unquote, urlsplit

from govkit.errors import AppError, ErrorKind


@runtime_checkable
class Mailer(Protocol):
    """Sends plain-text mail."""

    async def send(self, to: list[str], subject: str, body: str) -> None:
        """Send ``body`` with ``subject`` to every address in ``to``."""
        ...


# Deliberately simple: one @, no spaces or angle brackets, a dot in the domain. Recipients come
# from user profiles; a display name or a list in one string is a caller bug, not a feature.
_ADDRESS_RE = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


def _address_invalid(address: str) -> AppError:
    return AppError(
        code="MAIL_ADDRESS_INVALID",
        message=f"邮件地址不合法：{address[:100]}",
        kind=ErrorKind.INVALID,
        details={"address": address[:200]},
    )


def build_message(*, sender: str, to: Sequence[str], subject: str, body: str) -> EmailMessage:
    """An RFC 5322 message with UTF-8 subject and body, a Date and a Message-ID.

    Raises :class:`AppError` ``MAIL_ADDRESS_INVALID`` for a bad address or no recipient and
    ``MAIL_SUBJECT_INVALID`` for a subject with a line break (header injection).
    """
    if not to:
        raise AppError(code="MAIL_ADDRESS_INVALID", message="邮件没有收件人。", kind=ErrorKind.INVALID)
    for address in (sender, *to):
        if not _ADDRESS_RE.match(address):
            raise _address_invalid(address)
    if "\r" in subject or "\n" in subject:
        raise AppError(
            code="MAIL_SUBJECT_INVALID",
            message="邮件主题不能包含换行。",
            kind=ErrorKind.INVALID,
        )
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    # base64, not 8bit: a relay without 8BITMIME would otherwise mangle the Chinese text.
    message.set_content(body, charset="utf-8", cte="base64")
    return message


class FolderMailer:
    """Writes every message as ``<dir>/<unique>.eml`` (CRLF line ends, as on the wire)."""

    def __init__(self, directory: Path, *, sender: str = "govproj@localhost.localdomain") -> None:
        self.directory = Path(directory)
        self.sender = sender

    async def send(self, to: list[str], subject: str, body: str) -> None:
        """Write the message atomically; a reader never sees half a file."""
        message = build_message(sender=self.sender, to=to, subject=subject, body=body)
        await asyncio.to_thread(self._write, message.as_bytes(policy=SMTP))

    def _write(self, raw: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        # time_ns first so `ls` lists messages in the order they were sent.
        name = f"{time.time_ns()}-{uuid.uuid4().hex}.eml"
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
            os.replace(tmp, self.directory / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def messages(self) -> list[Path]:
        """The ``.eml`` files written so far, oldest first (for tests and the dev console)."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.eml"))


class SmtpMailer:
    """Sends through an SMTP relay; ``starttls`` upgrades a plain connection, ``implicit_tls`` is SMTPS.

    One connection per message: reminders are few, and a relay dropping idle connections then costs
    nothing. Certificates are verified with the system trust store.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str | None,
        password: str | None,
        starttls: bool,
        sender: str,
        *,
        implicit_tls: bool = False,
        timeout: float = 30.0,
    ) -> None:
        if starttls and implicit_tls:
            raise ValueError("choose STARTTLS or implicit TLS, not both")
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.starttls = starttls
        self.implicit_tls = implicit_tls
        self.sender = sender
        self.timeout = timeout

    async def send(self, to: list[str], subject: str, body: str) -> None:
        """Send the message; SMTP failures propagate as :class:`smtplib.SMTPException` / ``OSError``."""
        message = build_message(sender=self.sender, to=to, subject=subject, body=body)
        await asyncio.to_thread(self._send, message, list(to))

    def _send(self, message: EmailMessage, to: list[str]) -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.implicit_tls:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message, from_addr=self.sender, to_addrs=to)


USERNAME_ENV = "GOVPROJ_MAILER_USERNAME"
PASSWORD_ENV = "GOVPROJ_MAILER_PASSWORD"  # noqa: S105  (the variable's name, not a password)
SMTP_PORT, SUBMISSION_PORT, SMTPS_PORT = 25, 587, 465  # RFC 5321, RFC 6409, RFC 8314
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(query: Mapping[str, str], name: str, url: str) -> bool:
    raw = query.get(name, "0").lower()
    if raw not in _TRUE | _FALSE:
        raise ValueError(f"bad mailer URL {url!r}: {name} must be 1 or 0")
    return raw in _TRUE


def mailer_from_settings(
    url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Mailer:
    """The mailer a settings URL names.

    * ``folder:///absolute/path[?from=govproj@example.gov.cn]`` → :class:`FolderMailer`;
    * ``smtp://host:port?starttls=1&from=noreply@example.gov.cn`` → :class:`SmtpMailer` (port
      defaults to 587 with ``starttls=1``, else 25); ``smtps://host:port?from=...`` → implicit TLS
      (port 465 by default).

    ``from`` (the sender) is required for SMTP. Credentials never appear in the URL (refused if they
    do): pass ``username``/``password``, or set ``GOVPROJ_MAILER_USERNAME`` and
    ``GOVPROJ_MAILER_PASSWORD`` (read from ``environ``, default ``os.environ``); without a username
    the relay is used unauthenticated. Raises ``ValueError`` for a bad URL.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"folder", "smtp", "smtps"}:
        raise ValueError(f"bad mailer URL {url!r}: scheme must be folder, smtp or smtps")
    if parts.username is not None or parts.password is not None:
        raise ValueError("mailer URL must not contain credentials; use the environment variables")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    allowed = {"from"} if parts.scheme == "folder" else {"from", "starttls"}
    unknown = set(query) - allowed
    if unknown:
        raise ValueError(f"bad mailer URL {url!r}: unknown parameter(s) {', '.join(sorted(unknown))}")
    sender = query.get("from")
    if sender is not None and not _ADDRESS_RE.match(sender):
        raise ValueError(f"bad mailer URL {url!r}: from is not an e-mail address")
    if parts.scheme == "folder":
        if parts.netloc not in {"", "localhost"} or not parts.path.startswith("/"):
            raise ValueError(f"bad mailer URL {url!r}: expected folder:///absolute/path")
        directory = Path(unquote(parts.path))
        return FolderMailer(directory, sender=sender) if sender else FolderMailer(directory)
    if not parts.hostname:
        raise ValueError(f"bad mailer URL {url!r}: no host")
    if sender is None:
        raise ValueError(f"bad mailer URL {url!r}: add ?from=<sender address>")
    implicit_tls = parts.scheme == "smtps"
    starttls = _flag(query, "starttls", url)
    if implicit_tls and starttls:
        raise ValueError(f"bad mailer URL {url!r}: smtps is already TLS; drop starttls")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad mailer URL {url!r}: {exc}") from exc
    if port is None:
        port = SMTPS_PORT if implicit_tls else SUBMISSION_PORT if starttls else SMTP_PORT
    env = os.environ if environ is None else environ
    user = username if username is not None else env.get(USERNAME_ENV)
    secret = password if password is not None else env.get(PASSWORD_ENV)
    return SmtpMailer(
        host=parts.hostname,
        port=port,
        username=user or None,
        password=secret or None,
        starttls=starttls,
        sender=sender,
        implicit_tls=implicit_tls,
    )


__all__ = [
    "FolderMailer",
    "Mailer",
    "SmtpMailer",
    "build_message",
    "mailer_from_settings",
]
