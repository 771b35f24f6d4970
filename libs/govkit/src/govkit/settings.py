"""Service settings: pydantic-settings, one environment prefix per service, nothing read at import.

Every URL and secret comes from the environment (``GOVPROJ_<SERVICE>_<NAME>``); defaults are the
`make dev` loopback values so that a developer can run one service by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What every govproj service reads from its environment."""

    model_config = SettingsConfigDict(extra="ignore", env_prefix="GOVPROJ_")

    env: Literal["dev", "test", "production"] = "production"
    service_name: str = "govproj"
    database_url: SecretStr = Field(
        default=SecretStr(""), description="SQLAlchemy URL of the service's NON-superuser app role"
    )
    migrations_database_url: SecretStr = Field(
        default=SecretStr(""), description="URL of the schema owner role; Alembic runs with it at start"
    )
    # Connections a service keeps open, and how many more it may open under a burst. Overflow
    # connections are closed as soon as they are returned while the pool is full, so under steady
    # load they cost a connect (a PostgreSQL backend fork, a cold statement cache) per request:
    # the pool itself is sized for the load and the overflow is only for bursts.
    db_pool_size: int = 20
    db_max_overflow: int = 10
    nats_url: str = "nats://127.0.0.1:4222"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 9000
    oidc_server_url: str = "http://127.0.0.1:8080"
    oidc_realm: str = "govproj"
    oidc_client_id: str = "govproj"
    oidc_client_secret: SecretStr = SecretStr("")
    otel_exporter: Literal["none", "console", "otlp"] = "none"
    otel_endpoint: str | None = None
    otel_sample_ratio: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description=(
            "Share of new traces recorded (requests and events of a recorded trace stay recorded "
            "downstream); 1 records every request"
        ),
    )
    policies_dir: Path | None = None
    dev_clock_file: Path | None = Field(
        default=None, description="dev only: read 'now' from this file (govkit.clock); refused elsewhere"
    )
    run_migrations: bool = True
    log_level: str = "INFO"
    object_store_url: str | None = Field(
        default=None,
        description="file:///path or s3://bucket?endpoint=...&region=... (govkit.objectstore)",
    )
    mailer_url: str | None = Field(
        default=None, description="folder:///path or smtp://host:port?starttls=1&from=... (govkit.mail)"
    )
    # Credentials of the object store and the mail relay, for deployments that inject them per
    # service from a Secret (GOVPROJ_<SERVICE>_OBJECT_STORE_ACCESS_KEY, ...). Unset, govkit.objectstore
    # and govkit.mail fall back to the shared GOVPROJ_OBJECT_STORE_* / GOVPROJ_MAILER_* variables.
    object_store_access_key: SecretStr | None = Field(
        default=None, description="S3 access key of object_store_url (from a Secret, never in the URL)"
    )
    object_store_secret_key: SecretStr | None = Field(
        default=None, description="S3 secret key of object_store_url (from a Secret, never in the URL)"
    )
    mailer_username: SecretStr | None = Field(
        default=None, description="SMTP login of mailer_url (from a Secret); unset: no login"
    )
    mailer_password: SecretStr | None = Field(
        default=None, description="SMTP password of mailer_url (from a Secret)"
    )


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def secret_value(secret: SecretStr | None) -> str | None:
    """The plain value of an optional secret setting; ``None`` when unset or empty.

    Lets a composition root pass optional credentials on (``access_key=secret_value(...)``) so that
    an unset setting keeps the callee's own fallback (e.g. the shared environment variables).
    """
    if secret is None:
        return None
    return secret.get_secret_value() or None


def load_settings(cls: type[SettingsT]) -> SettingsT:
    """Read a service's settings from the environment (called by its composition root only)."""
    return cls()
