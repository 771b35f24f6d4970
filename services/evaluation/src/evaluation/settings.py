"""evaluation's settings: environment variables prefixed GOVPROJ_EVALUATION_."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from govkit.settings import ServiceSettings


class EvaluationSettings(ServiceSettings):
    """Settings of the evaluation service."""

    model_config = SettingsConfigDict(env_prefix="GOVPROJ_EVALUATION_", extra="ignore")

    service_name: str = "evaluation"
    http_port: int = 8105
    grpc_port: int = 9105
    oidc_client_id: str = "govproj-evaluation"
