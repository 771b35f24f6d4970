"""review's settings: environment variables prefixed GOVPROJ_REVIEW_."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from govkit.settings import ServiceSettings


class ReviewSettings(ServiceSettings):
    """Settings of the review service."""

    model_config = SettingsConfigDict(env_prefix="GOVPROJ_REVIEW_", extra="ignore")

    service_name: str = "review"
    http_port: int = 8102
    grpc_port: int = 9102
    oidc_client_id: str = "govproj-review"
    sweep_interval_seconds: float = Field(
        default=300.0, gt=0, description="How often the worker sweeps expiry, lapse and SLA reminders"
    )
    reminder_lead_workdays: int = Field(
        default=1, ge=0, description="Working days before a deadline when the due-soon reminder goes out"
    )
    mail_domain: str = Field(
        default="govproj.localhost",
        description="Domain of the reminder mailboxes (<login>@ / <role>.<tenant>@)",
    )
    default_criteria_pack: str | None = Field(
        default="qiaokou-2022",
        description="Pack whose approval criteria a pack without review criteria borrows (qiaokou §18)",
    )
    calendar: str = Field(default="official", description="Working-day calendar of the SLA clocks")
