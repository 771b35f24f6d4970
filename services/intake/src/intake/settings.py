"""intake's settings: environment variables prefixed GOVPROJ_INTAKE_."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from govkit.objectstore import DOCX, JPEG, OFD, PDF, PNG, XLSX, ZIP
from govkit.settings import ServiceSettings

MIB = 1024 * 1024


class IntakeSettings(ServiceSettings):
    """Settings of the intake service."""

    model_config = SettingsConfigDict(env_prefix="GOVPROJ_INTAKE_", extra="ignore")

    service_name: str = "intake"
    http_port: int = 8101
    grpc_port: int = 9101
    oidc_client_id: str = "govproj-intake"
    # Uploads (input hygiene, not policy): the largest file and the types accepted for materials.
    max_upload_bytes: int = Field(default=50 * MIB, gt=0)
    allowed_upload_types: list[str] = Field(default_factory=lambda: [PDF, DOCX, XLSX, OFD, ZIP, PNG, JPEG])
    # Without object_store_url, `make dev` keeps uploads in this folder (GOVPROJ_ENV=dev only).
    dev_objects_dir: Path = Path(".devstack/objects/intake")
    # Tenants and orgs loaded at start when GOVPROJ_INTAKE_ENV=dev (relative to the working directory).
    seed_file: Path = Path("deploy/seed/orgs.yaml")
    # Local dates (deadlines, the year of a project code) are taken in this time zone.
    timezone: str = "Asia/Shanghai"
