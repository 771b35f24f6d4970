"""govkit.mail: .eml files for dev, SMTP for production, the URL factory."""

from __future__ import annotations

import email
import os
import smtplib
import socketserver
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any, ClassVar

import pytest

from govkit.errors import AppError
from govkit.mail import FolderMailer, Mailer, SmtpMailer, mailer_from_settings

SUBJECT = "【提醒】示范市一网通办平台项目验收材料将于3个工作日后到期"
BODY = "您好：\n\n请于2025年3月5日前提交验收申请及验收报告（wuxing-2023 §22）。\n\n示范市数据局"


def _read(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=default)
    assert isinstance(message, EmailMessage)
    return message


# --------------------------------------------------------------------------------------------
# FolderMailer
# --------------------------------------------------------------------------------------------


async def test_folder_mailer_writes_a_readable_rfc5322_message(tmp_path: Path) -> None:
    mailer = FolderMailer(tmp_path / "mail", sender="noreply@data.example.gov.cn")
    assert isinstance(mailer, Mailer)
    await mailer.send(["zhang@unit.example.cn", "li@unit.example.cn"], SUBJECT, BODY)
    (path,) = mailer.messages()
    raw = path.read_bytes()
    assert b"\r\n" in raw
    assert SUBJECT.encode() not in raw  # the Chinese subject is RFC 2047-encoded on the wire
    assert all(b < 0x80 for b in raw)  # 7-bit clean: any relay can carry it
    message = _read(path)
    assert message["Subject"] == SUBJECT
    assert message["From"] == "noreply@data.example.gov.cn"
    assert message["To"] == "zhang@unit.example.cn, li@unit.example.cn"
    assert message["Date"] is not None
    assert message["Message-ID"].endswith("@data.example.gov.cn>")
    assert message.get_content().rstrip("\n") == BODY


async def test_folder_mailer_keeps_every_message_in_order(tmp_path: Path) -> None:
    mailer = FolderMailer(tmp_path)
    for i in range(3):
        await mailer.send(["a@unit.example.cn"], f"第{i}封", "正文")
    assert [_read(p)["Subject"] for p in mailer.messages()] == ["第0封", "第1封", "第2封"]
    assert [p.name for p in mailer.messages()] == sorted(os.listdir(tmp_path))  # no temporary files left


@pytest.mark.parametrize(
    ("to", "subject", "code"),
    [
        ([], "主题", "MAIL_ADDRESS_INVALID"),
        (["not-an-address"], "主题", "MAIL_ADDRESS_INVALID"),
        (["a@b.cn, c@d.cn"], "主题", "MAIL_ADDRESS_INVALID"),
        (["张三 <a@b.cn>"], "主题", "MAIL_ADDRESS_INVALID"),
        (["a@b.cn"], "主题\r\nBcc: victim@example.com", "MAIL_SUBJECT_INVALID"),
    ],
)
async def test_bad_messages_are_refused_and_nothing_is_written(
    tmp_path: Path, to: list[str], subject: str, code: str
) -> None:
    mailer = FolderMailer(tmp_path)
    with pytest.raises(AppError) as info:
        await mailer.send(to, subject, "正文")
    assert info.value.code == code
    assert mailer.messages() == []


# --------------------------------------------------------------------------------------------
# SmtpMailer against a loopback SMTP server (plain), and against a recording fake (TLS, auth)
# --------------------------------------------------------------------------------------------


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough RFC 5321 to accept one message; records the envelope and the data."""

    def handle(self) -> None:
        received: dict[str, Any] = self.server.received  # type: ignore[attr-defined]
        self.wfile.write(b"220 test ESMTP\r\n")
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in {"EHLO", "HELO"}:
                self.wfile.write(b"250-test\r\n250 8BITMIME\r\n")
            elif verb == "MAIL":
                received["from"] = command
                self.wfile.write(b"250 OK\r\n")
            elif verb == "RCPT":
                received.setdefault("rcpt", []).append(command)
                self.wfile.write(b"250 OK\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 go on\r\n")
                data = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    data += chunk
                received["data"] = data
                self.wfile.write(b"250 queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"502 not implemented\r\n")


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, dict[str, Any]]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
    server.daemon_threads = True
    server.received = {}  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


async def test_smtp_mailer_delivers_to_a_relay(smtp_server: tuple[int, dict[str, Any]]) -> None:
    port, received = smtp_server
    mailer = mailer_from_settings(f"smtp://127.0.0.1:{port}?from=noreply@data.example.gov.cn", environ={})
    await mailer.send(["zhang@unit.example.cn", "li@unit.example.cn"], SUBJECT, BODY)
    assert received["from"].upper().startswith("MAIL FROM:<NOREPLY@DATA.EXAMPLE.GOV.CN>")
    assert [r.lower() for r in received["rcpt"]] == [
        "rcpt to:<zhang@unit.example.cn>",
        "rcpt to:<li@unit.example.cn>",
    ]
    message = email.message_from_bytes(received["data"], policy=default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == SUBJECT
    assert message.get_content().rstrip("\n") == BODY


class _RecordingSMTP:
    """Stands in for smtplib.SMTP / SMTP_SSL: records the calls in order."""

    calls: ClassVar[list[tuple[str, Any]]] = []

    def __init__(self, host: str, port: int, timeout: float, context: Any = None) -> None:
        self.calls.append(("connect", (type(self).__name__, host, port, context is not None)))

    def __enter__(self) -> _RecordingSMTP:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.calls.append(("quit", None))

    def ehlo(self) -> None:
        self.calls.append(("ehlo", None))

    def starttls(self, context: Any) -> None:
        self.calls.append(("starttls", context is not None))

    def login(self, user: str, password: str) -> None:
        self.calls.append(("login", (user, password)))

    def send_message(self, message: EmailMessage, from_addr: str, to_addrs: list[str]) -> None:
        self.calls.append(("send", (from_addr, to_addrs, message["Subject"])))


class _RecordingSMTPSSL(_RecordingSMTP):
    pass


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    calls: ClassVar[list[tuple[str, Any]]] = []
    monkeypatch.setattr(_RecordingSMTP, "calls", calls)
    monkeypatch.setattr(smtplib, "SMTP", _RecordingSMTP)
    monkeypatch.setattr(smtplib, "SMTP_SSL", _RecordingSMTPSSL)
    return calls


async def test_starttls_comes_before_login(recorded: list[tuple[str, Any]]) -> None:
    mailer = mailer_from_settings(
        "smtp://mail.example.gov.cn?starttls=1&from=noreply@example.gov.cn",
        environ={"GOVPROJ_MAILER_USERNAME": "govproj", "GOVPROJ_MAILER_PASSWORD": "pw"},
    )
    await mailer.send(["a@unit.example.cn"], SUBJECT, BODY)
    assert recorded == [
        ("connect", ("_RecordingSMTP", "mail.example.gov.cn", 587, False)),
        ("ehlo", None),
        ("starttls", True),
        ("ehlo", None),
        ("login", ("govproj", "pw")),
        ("send", ("noreply@example.gov.cn", ["a@unit.example.cn"], SUBJECT)),
        ("quit", None),
    ]


async def test_implicit_tls_and_no_login_without_a_username(recorded: list[tuple[str, Any]]) -> None:
    mailer = mailer_from_settings("smtps://mail.example.gov.cn?from=noreply@example.gov.cn", environ={})
    await mailer.send(["a@unit.example.cn"], "主题", "正文")
    assert recorded[0] == ("connect", ("_RecordingSMTPSSL", "mail.example.gov.cn", 465, True))
    assert [c[0] for c in recorded] == ["connect", "ehlo", "send", "quit"]


# --------------------------------------------------------------------------------------------
# mailer_from_settings
# --------------------------------------------------------------------------------------------


def test_folder_url(tmp_path: Path) -> None:
    mailer = mailer_from_settings(f"folder://{tmp_path}/mail?from=dev@govproj.example.cn")
    assert isinstance(mailer, FolderMailer)
    assert (mailer.directory, mailer.sender) == (tmp_path / "mail", "dev@govproj.example.cn")


def test_smtp_url_settings() -> None:
    mailer = mailer_from_settings(
        "smtp://relay.internal:2525?from=noreply@example.gov.cn",
        password="explicit",
        environ={"GOVPROJ_MAILER_USERNAME": "u", "GOVPROJ_MAILER_PASSWORD": "from-env"},
    )
    assert isinstance(mailer, SmtpMailer)
    assert (mailer.host, mailer.port, mailer.starttls, mailer.implicit_tls) == (
        "relay.internal",
        2525,
        False,
        False,
    )
    assert (mailer.username, mailer.password) == ("u", "explicit")
    plain = mailer_from_settings("smtp://relay.internal?from=noreply@example.gov.cn", environ={})
    assert isinstance(plain, SmtpMailer)
    assert (plain.port, plain.username) == (25, None)


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("smtp://user:pw@relay?from=a@b.cn", "must not contain credentials"),
        ("smtp://relay", "from="),
        ("smtp://relay?from=nobody", "not an e-mail address"),
        ("smtp://relay?from=a@b.cn&starttls=maybe", "starttls must be 1 or 0"),
        ("smtps://relay?from=a@b.cn&starttls=1", "already TLS"),
        ("smtp://relay?from=a@b.cn&debug=1", "unknown parameter"),
        ("folder://relative/dir", "absolute"),
        ("http://relay", "scheme"),
    ],
)
def test_bad_urls_are_refused(url: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        mailer_from_settings(url, environ={})
