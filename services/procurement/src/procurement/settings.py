"""procurement's settings: environment variables prefixed GOVPROJ_PROCUREMENT_."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from govkit.settings import ServiceSettings


class ProcurementSettings(ServiceSettings):
    """Settings of the procurement service."""

    model_config = SettingsConfigDict(env_prefix="GOVPROJ_PROCUREMENT_", extra="ignore")

    service_name: str = "procurement"
    http_port: int = 8103
    grpc_port: int = 9103
    oidc_client_id: str = "govproj-procurement"
