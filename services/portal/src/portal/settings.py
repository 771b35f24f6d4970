"""portal's settings: environment variables prefixed GOVPROJ_PORTAL_."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PortalSettings(BaseSettings):
    """Settings of the portal (it owns no domain data and no database)."""

    model_config = SettingsConfigDict(env_prefix="GOVPROJ_PORTAL_", extra="ignore")

    env: str = "production"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # name=REST base URL of every service whose status the portal shows
    services: dict[str, str] = Field(
        default_factory=lambda: {
            "intake": "http://127.0.0.1:8101",
            "review": "http://127.0.0.1:8102",
            "procurement": "http://127.0.0.1:8103",
            "acceptance": "http://127.0.0.1:8104",
            "evaluation": "http://127.0.0.1:8105",
        }
    )
    oidc_server_url: str = "http://127.0.0.1:8080"
    log_level: str = "INFO"
