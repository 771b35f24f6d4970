"""acceptance's settings: environment variables prefixed GOVPROJ_ACCEPTANCE_."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from govkit.settings import ServiceSettings


class AcceptanceSettings(ServiceSettings):
    """Settings of the acceptance service."""

    model_config = SettingsConfigDict(env_prefix="GOVPROJ_ACCEPTANCE_", extra="ignore")

    service_name: str = "acceptance"
    http_port: int = 8104
    grpc_port: int = 9104
    oidc_client_id: str = "govproj-acceptance"
