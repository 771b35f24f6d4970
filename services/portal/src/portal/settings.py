"""portal's settings: environment variables prefixed GOVPROJ_PORTAL_."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# services/portal/node_modules when run from a checkout (`make setup` runs `npm ci` there).
_CHECKOUT_VENDOR_DIR = Path(__file__).resolve().parents[2] / "node_modules"


class PortalSettings(BaseSettings):
    """Settings of the portal (it owns no domain data and no database)."""

    model_config = SettingsConfigDict(env_prefix="GOVPROJ_PORTAL_", extra="ignore")

    env: str = "production"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The portal's address as browsers reach it (OIDC redirect and logout URIs)",
    )
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
    intake_grpc_target: str = Field(default="127.0.0.1:9101", description="intake's gRPC host:port")
    review_grpc_target: str = Field(default="127.0.0.1:9102", description="review's gRPC host:port")
    procurement_grpc_target: str = Field(
        default="127.0.0.1:9103", description="procurement's gRPC host:port (contracts, progress)"
    )
    acceptance_grpc_target: str = Field(
        default="127.0.0.1:9104", description="acceptance's gRPC host:port (trial run, acceptance)"
    )
    evaluation_grpc_target: str = Field(
        default="127.0.0.1:9105", description="evaluation's gRPC host:port (the portfolio)"
    )
    grpc_timeout_seconds: float = Field(default=5.0, gt=0, description="Deadline of every gRPC call")
    oidc_server_url: str = "http://127.0.0.1:8080"
    oidc_realm: str = "govproj"
    oidc_client_id: str = "govproj-portal"
    oidc_client_secret: SecretStr = Field(
        default=SecretStr(""), description="Secret of the confidential portal client (Keycloak)"
    )
    session_idle_seconds: int = Field(
        default=1800, gt=0, description="A portal session unused this long ends (Keycloak's SSO idle default)"
    )
    nats_url: str | None = Field(
        default=None,
        description=(
            "NATS (JetStream) holding the sessions every portal replica shares; required outside dev "
            "(unset in dev: sessions in this process's memory)"
        ),
    )
    session_key: SecretStr = Field(
        default=SecretStr(""),
        description=(
            "32 random bytes, base64: seals the stored sessions (required outside dev; in dev a fresh "
            "key per process)"
        ),
    )
    vendor_dir: Path = Field(
        default=_CHECKOUT_VENDOR_DIR, description="node_modules holding the pinned npm packages (ECharts)"
    )
    log_level: str = "INFO"

    @property
    def dev(self) -> bool:
        """True in `make dev` and tests: cookies without Secure (plain http on loopback)."""
        return self.env == "dev"

    @property
    def redirect_uri(self) -> str:
        """Where the issuer sends the browser back with the code."""
        return self.public_url.rstrip("/") + "/auth/callback"

    @property
    def post_logout_redirect_uri(self) -> str:
        """Where the issuer sends the browser after ending its session."""
        return self.public_url.rstrip("/") + "/signed-out"
