"""procurement's settings: environment variables prefixed GOVPROJ_PROCUREMENT_."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from govkit.settings import ServiceSettings


class ProcurementSettings(ServiceSettings):
    """Settings of the procurement service."""

    model_config = SettingsConfigDict(env_prefix="GOVPROJ_PROCUREMENT_", extra="ignore")

    service_name: str = "procurement"
    http_port: int = 8103
    grpc_port: int = 9103
    oidc_client_id: str = "govproj-procurement"
    sweep_interval_seconds: float = Field(
        default=300.0, gt=0, description="How often the worker looks for contracts not filed in time"
    )
    calendar: str = Field(default="official", description="Working-day calendar of the filing deadlines")
    trading_webhook_secret: SecretStr = Field(
        default=SecretStr(""),
        description="HMAC-SHA256 key shared with the trading center (from a Secret); empty: webhook refused",
    )
    webhook_tolerance_seconds: int = Field(
        default=300, ge=1, description="How far a webhook's timestamp may be from now (replay protection)"
    )
    upload_max_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1, description="Largest filing document accepted (bytes)"
    )
    webhook_max_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1, description="Largest OCDS package accepted by the webhook (bytes)"
    )
