"""acceptance's settings: environment variables prefixed GOVPROJ_ACCEPTANCE_."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from govkit.settings import ServiceSettings

MIB = 1024 * 1024


class AcceptanceSettings(ServiceSettings):
    """Settings of the acceptance service."""

    model_config = SettingsConfigDict(env_prefix="GOVPROJ_ACCEPTANCE_", extra="ignore")

    service_name: str = "acceptance"
    http_port: int = 8104
    grpc_port: int = 9104
    oidc_client_id: str = "govproj-acceptance"
    review_grpc_target: str = Field(
        default="127.0.0.1:9102",
        description="review's gRPC address: acceptance panels are drawn from its expert library",
    )
    review_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Deadline of a call to review (the panel draw)"
    )
    max_upload_bytes: int = Field(default=50 * MIB, gt=0, description="Largest evidence file accepted")
    calendar: str = Field(default="official", description="Working-day calendar of the filing deadlines")
