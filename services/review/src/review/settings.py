"""review's settings: environment variables prefixed GOVPROJ_REVIEW_."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from govkit.settings import ServiceSettings


class ReviewSettings(ServiceSettings):
    """Settings of the review service."""

    model_config = SettingsConfigDict(env_prefix="GOVPROJ_REVIEW_", extra="ignore")

    service_name: str = "review"
    http_port: int = 8102
    grpc_port: int = 9102
    oidc_client_id: str = "govproj-review"
