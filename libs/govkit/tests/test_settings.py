"""Service settings: the object-store and mail-relay credentials a deployment injects per service."""

from __future__ import annotations

import pytest
from pydantic_settings import SettingsConfigDict

from govkit.mail import SmtpMailer, mailer_from_settings
from govkit.objectstore import S3ObjectStore, object_store_from_settings
from govkit.settings import ServiceSettings, secret_value

SHARED = {
    "GOVPROJ_OBJECT_STORE_ACCESS_KEY": "shared-ak",
    "GOVPROJ_OBJECT_STORE_SECRET_KEY": "shared-sk",
    "GOVPROJ_MAILER_USERNAME": "shared-user",
    "GOVPROJ_MAILER_PASSWORD": "shared-pw",
}
S3_URL = "s3://govproj-demo?endpoint=https://minio.internal:9000&region=cn-north-1"
SMTP_URL = "smtp://relay.internal:587?starttls=1&from=noreply@example.gov.cn"


class DemoSettings(ServiceSettings):
    """A service's settings, as every service declares them (its own prefix)."""

    model_config = SettingsConfigDict(env_prefix="GOVPROJ_DEMO_", extra="ignore")


def _clear(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ACCESS_KEY", "SECRET_KEY"):
        monkeypatch.delenv(f"GOVPROJ_DEMO_OBJECT_STORE_{name}", raising=False)
    for name in ("USERNAME", "PASSWORD"):
        monkeypatch.delenv(f"GOVPROJ_DEMO_MAILER_{name}", raising=False)


def test_per_service_credentials_are_read_as_secrets_and_win_over_the_shared_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("GOVPROJ_DEMO_OBJECT_STORE_ACCESS_KEY", "demo-ak")
    monkeypatch.setenv("GOVPROJ_DEMO_OBJECT_STORE_SECRET_KEY", "demo-sk")
    monkeypatch.setenv("GOVPROJ_DEMO_MAILER_USERNAME", "demo-user")
    monkeypatch.setenv("GOVPROJ_DEMO_MAILER_PASSWORD", "demo-pw")
    settings = DemoSettings()
    # Never printed: logs and tracebacks show the settings' repr.
    assert "demo-sk" not in repr(settings) and "demo-pw" not in repr(settings)
    store = object_store_from_settings(
        S3_URL,
        access_key=secret_value(settings.object_store_access_key),
        secret_key=secret_value(settings.object_store_secret_key),
        environ=SHARED,
    )
    assert isinstance(store, S3ObjectStore)
    credentials = store.client._request_signer._credentials
    assert (credentials.access_key, credentials.secret_key) == ("demo-ak", "demo-sk")
    relay = mailer_from_settings(
        SMTP_URL,
        username=secret_value(settings.mailer_username),
        password=secret_value(settings.mailer_password),
        environ=SHARED,
    )
    assert isinstance(relay, SmtpMailer)
    assert (relay.username, relay.password) == ("demo-user", "demo-pw")


@pytest.mark.parametrize("value", [None, ""])
def test_unset_or_empty_credentials_keep_the_shared_variables(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    _clear(monkeypatch)
    if value is not None:
        monkeypatch.setenv("GOVPROJ_DEMO_OBJECT_STORE_ACCESS_KEY", value)
        monkeypatch.setenv("GOVPROJ_DEMO_MAILER_USERNAME", value)
    settings = DemoSettings()
    assert secret_value(settings.object_store_access_key) is None
    store = object_store_from_settings(
        S3_URL,
        access_key=secret_value(settings.object_store_access_key),
        secret_key=secret_value(settings.object_store_secret_key),
        environ=SHARED,
    )
    assert isinstance(store, S3ObjectStore)
    assert store.client._request_signer._credentials.access_key == "shared-ak"
    relay = mailer_from_settings(
        SMTP_URL,
        username=secret_value(settings.mailer_username),
        password=secret_value(settings.mailer_password),
        environ={},
    )
    assert isinstance(relay, SmtpMailer)
    assert relay.username is None  # no login at all: an open internal relay
