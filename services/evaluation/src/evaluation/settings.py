"""evaluation's settings: environment variables prefixed GOVPROJ_EVALUATION_."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from govkit.settings import ServiceSettings


class EvaluationSettings(ServiceSettings):
    """Settings of the evaluation service."""

    model_config = SettingsConfigDict(env_prefix="GOVPROJ_EVALUATION_", extra="ignore")

    service_name: str = "evaluation"
    http_port: int = 8105
    grpc_port: int = 9105
    oidc_client_id: str = "govproj-evaluation"
    sweep_interval_seconds: float = Field(
        default=300.0, gt=0, description="How often the worker escalates rectification orders past due"
    )
    grade_bands: str = Field(
        default="优:90,良:80,中:60,差:0",
        description=(
            "Grades of a weighted total, highest first (<grade>:<minimum>); the default is the four "
            "bands of 财预〔2020〕10号 项目支出绩效评价管理办法 (no seed document sets grades)"
        ),
    )
    max_upload_bytes: int = Field(
        default=50 * 1024 * 1024, gt=0, description="Largest evidence file accepted"
    )
    calendar: str = Field(default="official", description="Working-day calendar of the evaluation deadlines")
