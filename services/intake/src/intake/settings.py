"""intake's settings: environment variables prefixed GOVPROJ_INTAKE_."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from govkit.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    """Settings of the intake service."""

    model_config = SettingsConfigDict(env_prefix="GOVPROJ_INTAKE_", extra="ignore")

    service_name: str = "intake"
    http_port: int = 8101
    grpc_port: int = 9101
    oidc_client_id: str = "govproj-intake"
