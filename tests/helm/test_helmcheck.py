"""The chart checks of `make helm-check`: the chart passes them, and each check catches what it is for.

Rendering and linting go through Helm's Go SDK in-process (milliseconds); checkov runs once for
the whole module (a few seconds), over a good and a deliberately weakened rendering.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from devstack import helmcheck

pytest.importorskip("helm_python")
pytest.importorskip("kubernetes_validate")

CHART = helmcheck.CHART_DIR


def docs_for(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    rendered = helmcheck.render(CHART, values or {})
    return [d for group in rendered.values() for d in group]


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


@pytest.mark.parametrize("path", helmcheck.values_files(CHART), ids=lambda p: p.name)
def test_every_values_file_lints_validates_and_configures_the_services(path: Path) -> None:
    values = helmcheck.user_values(CHART, path)
    assert helmcheck.lint(CHART, values) == []
    docs = docs_for(values)
    assert helmcheck.validate(docs) == []
    assert helmcheck.check_settings(docs) == []


def test_chart_declares_no_dependencies_and_never_ships_the_dev_realm_or_seed() -> None:
    import yaml

    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert "dependencies" not in chart
    text = "\n".join(p.read_text() for p in CHART.rglob("*") if p.is_file())
    assert "realm-govproj.dev" not in text
    assert "govproj-cli" not in text
    assert "deploy/seed" not in text and "orgs.yaml" not in text  # demo tenants load in `make dev` only


@pytest.mark.parametrize(
    "values",
    [
        {"components": {"intake": {"replica": 3}}},
        {"global": {"natsUrl": "nats://x:4222"}},
        {"components": {"intake": {"image": {"tag": "latest"}}}},
        {"components": {"intake": {"secret": {"name": "s", "databaseUrl": "postgresql://u:p@h/db"}}}},
    ],
    ids=["typo-in-component", "typo-in-global", "latest-tag", "literal-secret-key"],
)
def test_schema_rejects_typos_and_literal_secrets(values: dict[str, Any]) -> None:
    assert helmcheck.lint(CHART, values)


def test_a_config_name_the_settings_do_not_read_is_reported() -> None:
    docs = docs_for({"components": {"intake": {"config": {"DATABSE_POOL": "5"}}}})
    problems = helmcheck.check_settings(docs)
    assert any("GOVPROJ_INTAKE_DATABSE_POOL" in p and "does not read" in p for p in problems), problems


def test_a_value_the_settings_cannot_parse_is_reported() -> None:
    docs = docs_for({"components": {"review": {"config": {"DB_POOL_SIZE": "many"}}}})
    problems = helmcheck.check_settings(docs)
    assert any("ReviewSettings rejects" in p for p in problems), problems


def test_a_secret_given_as_a_literal_value_is_reported() -> None:
    docs = docs_for()
    deployment = find(docs, "Deployment", "govproj-intake")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    env[0] = {"name": "GOVPROJ_INTAKE_DATABASE_URL", "value": "postgresql+asyncpg://app:pw@db/intake"}
    problems = helmcheck.check_settings(docs)
    assert any("secret setting GOVPROJ_INTAKE_DATABASE_URL comes from value" in p for p in problems), problems


def test_a_missing_required_setting_and_a_leaked_owner_credential_are_reported() -> None:
    docs = docs_for()
    deployment = find(docs, "Deployment", "govproj-review")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [e for e in container["env"] if e["name"] != "GOVPROJ_REVIEW_OIDC_CLIENT_SECRET"] + [
        {
            "name": "GOVPROJ_REVIEW_MIGRATIONS_DATABASE_URL",
            "valueFrom": {"secretKeyRef": {"name": "govproj-review", "key": "migrations-database-url"}},
        }
    ]
    problems = helmcheck.check_settings(docs)
    assert any("needs GOVPROJ_REVIEW_OIDC_CLIENT_SECRET" in p for p in problems), problems
    assert any("must not get GOVPROJ_REVIEW_MIGRATIONS_DATABASE_URL" in p for p in problems), problems


def test_loopback_binding_and_port_mismatch_are_reported() -> None:
    docs = docs_for()
    configmap = find(docs, "ConfigMap", "govproj-procurement")
    configmap["data"]["GOVPROJ_PROCUREMENT_HTTP_HOST"] = "127.0.0.1"
    configmap["data"]["GOVPROJ_PROCUREMENT_GRPC_PORT"] = "9999"
    problems = helmcheck.check_settings(docs)
    assert any("HTTP_HOST is '127.0.0.1'" in p for p in problems), problems
    assert any("GRPC_PORT=9999 but containerPort grpc=9103" in p for p in problems), problems


def test_checkov_passes_the_chart_and_catches_a_weakened_pod(tmp_path: Path) -> None:
    good = helmcheck.render(CHART, {})
    weak = copy.deepcopy(good)
    for doc in weak["govproj/templates/components.yaml"]:
        if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "govproj-intake":
            container = doc["spec"]["template"]["spec"]["containers"][0]
            container["securityContext"]["readOnlyRootFilesystem"] = False
            doc["metadata"]["annotations"]["checkov.io/skip1"] = "CKV_K8S_35"  # no reason given
    for folder, rendered in (("good", good), ("weak", weak)):
        (tmp_path / folder).mkdir()
        helmcheck.write_manifests(tmp_path / folder, rendered)
    report = helmcheck.Report()
    helmcheck.checkov_findings(helmcheck.run_checkov(tmp_path), {"good": "good", "weak": "weak"}, report)
    assert "good" not in report.findings
    weak_findings = "\n".join(report.findings["weak"])
    assert "CKV_K8S_22" in weak_findings
    assert "without a reason" in weak_findings


# --- object store, mailer and uploads (issue 5) ---------------------------------------------------


class _Sent(Exception):
    """Raised from botocore's before-send hook: the signed request never leaves the process."""

    def __init__(self, request: Any) -> None:
        super().__init__("request captured")
        self.request = request


def service_settings(docs: list[dict[str, Any]], component: str) -> Any:
    """The settings a component's Deployment container would read: ConfigMap values as rendered,
    each secretKeyRef replaced by "<secret name>/<key>" (what the operator's Secret would hold)."""
    deployment = find(docs, "Deployment", f"govproj-{component}")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    configmaps = {d["metadata"]["name"]: d["data"] for d in docs if d["kind"] == "ConfigMap"}
    problems: list[str] = []
    env = {
        name: value or ""
        for name, (_, value) in helmcheck.container_env(container, configmaps, "", problems).items()
    }
    for item in container.get("env", []):
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            env[item["name"]] = f"{ref['name']}/{ref['key']}"
    assert problems == []
    info = helmcheck.settings_info(component)
    with helmcheck.isolated_environ(env):
        return info.cls()


def signed_put(store: Any) -> Any:
    """The HTTP request the store would send for a PUT, signed, captured before it is sent."""
    from govkit.objectstore import S3ObjectStore

    assert isinstance(store, S3ObjectStore)

    def capture(request: Any, **_: Any) -> None:
        raise _Sent(request)

    store.client.meta.events.register("before-send.s3.PutObject", capture)
    with pytest.raises(_Sent) as sent:
        store._put("t1/declarations/d1/a.pdf", b"%PDF-1.4", "application/pdf")
    return sent.value.request


def chart_values(path: Path) -> dict[str, Any]:
    """values.yaml with a ci file's values merged on top (maps merge, lists and scalars replace)."""
    import yaml

    def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        for key, value in over.items():
            out[key] = (
                merge(out[key], value)
                if isinstance(value, dict) and isinstance(out.get(key), dict)
                else value
            )
        return out

    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    return merge(defaults, helmcheck.user_values(CHART, path))


@pytest.mark.parametrize("path", helmcheck.values_files(CHART), ids=lambda p: p.name)
@pytest.mark.parametrize("component", ["intake", "review"])
def test_intake_and_review_store_objects_in_their_s3_bucket_with_credentials_from_a_secret(
    path: Path, component: str
) -> None:
    import importlib

    values = chart_values(path)
    docs = docs_for(helmcheck.user_values(CHART, path))
    settings = service_settings(docs, component)
    bootstrap = importlib.import_module(f"{component}.bootstrap")
    request = signed_put(bootstrap.object_store(settings))
    store_values = values["components"][component]["objectStore"]
    endpoint = values["global"]["objectStore"]["endpoint"]
    region = values["global"]["objectStore"]["region"]
    secret = store_values["secret"]["name"] or values["components"][component]["secret"]["name"]
    # Path-style, to the configured endpoint, signed for the region with the Secret's access key.
    assert request.url == f"{endpoint}/{store_values['bucket']}/t1/declarations/d1/a.pdf"
    credential = f"Credential={secret}/{store_values['secret']['accessKeyKey']}/"
    assert credential in request.headers["Authorization"].decode()
    assert f"/{region}/s3/aws4_request" in request.headers["Authorization"].decode()


@pytest.mark.parametrize("path", helmcheck.values_files(CHART), ids=lambda p: p.name)
def test_review_mails_reminders_through_the_configured_smtp_relay(path: Path) -> None:
    from govkit.mail import SmtpMailer
    from review.bootstrap import mailer

    review = chart_values(path)["components"]["review"]
    mail = review["mailer"]
    settings = service_settings(docs_for(helmcheck.user_values(CHART, path)), "review")
    relay = mailer(settings)
    assert isinstance(relay, SmtpMailer)
    assert (relay.host, relay.port, relay.sender) == (mail["host"], mail["port"], mail["from"])
    assert relay.starttls == (mail["security"] == "starttls")
    assert relay.implicit_tls == (mail["security"] == "tls")
    assert settings.mail_domain == mail["mailDomain"]
    if mail["auth"]:
        secret = mail["secret"]["name"] or review["secret"]["name"]
        assert relay.username == f"{secret}/{mail['secret']['usernameKey']}"
        assert relay.password == f"{secret}/{mail['secret']['passwordKey']}"
    else:
        assert relay.username is None and relay.password is None


@pytest.mark.parametrize("path", helmcheck.values_files(CHART), ids=lambda p: p.name)
def test_intake_refuses_uploads_beyond_the_chart_limits(path: Path) -> None:
    from govkit.errors import AppError
    from govkit.objectstore import validate_upload

    uploads = chart_values(path)["components"]["intake"]["uploads"]
    settings = service_settings(docs_for(helmcheck.user_values(CHART, path)), "intake")
    assert settings.max_upload_bytes == uploads["maxBytes"]
    assert settings.allowed_upload_types == uploads["allowedTypes"]
    pdf = b"%PDF-1.4\n%%EOF\n"
    limits = {"max_bytes": settings.max_upload_bytes, "allowed_types": settings.allowed_upload_types}
    assert validate_upload("申报书.pdf", "application/pdf", len(pdf), data=pdf, **limits).size == len(pdf)
    with pytest.raises(AppError) as too_large:
        validate_upload("申报书.pdf", "application/pdf", settings.max_upload_bytes + 1, **limits)
    assert too_large.value.code == "UPLOAD_TOO_LARGE"


def test_no_volume_but_tmp_and_no_dev_only_settings_in_any_rendering() -> None:
    for path in helmcheck.values_files(CHART):
        docs = docs_for(helmcheck.user_values(CHART, path))
        assert not [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
        for doc in docs:
            if doc["kind"] not in helmcheck.WORKLOAD_KINDS:
                continue
            _, spec = helmcheck.pod_spec(doc)
            assert [v["name"] for v in spec.get("volumes", [])] == ["tmp"], helmcheck.kn(doc)
            assert all(set(v) == {"name", "emptyDir"} for v in spec["volumes"])
        text = "\n".join(str(d) for d in docs)
        # file:// and folder:// are `make dev`'s; the dev seed file is never shipped.
        for dev_only in ("file://", "folder://", "SEED_FILE", "DEV_OBJECTS_DIR", "orgs.yaml"):
            assert dev_only not in text, (path.name, dev_only)


def test_the_intake_tmp_volume_follows_its_value() -> None:
    docs = docs_for({"components": {"intake": {"tmpSizeLimit": "2Gi"}}})
    spec = find(docs, "Deployment", "govproj-intake")["spec"]["template"]["spec"]
    assert spec["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "2Gi"}}]
    review = find(docs, "Deployment", "govproj-review")["spec"]["template"]["spec"]
    assert review["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]


def test_a_disabled_store_or_a_relay_without_login_sets_no_credentials() -> None:
    docs = docs_for(
        {
            "components": {
                "intake": {"objectStore": {"enabled": False}},
                "review": {"mailer": {"auth": False}},
            }
        }
    )
    names = {
        component: [
            e["name"]
            for e in find(docs, "Deployment", f"govproj-{component}")["spec"]["template"]["spec"][
                "containers"
            ][0]["env"]
        ]
        for component in ("intake", "review")
    }
    assert not [n for n in names["intake"] if "OBJECT_STORE" in n]
    assert "GOVPROJ_INTAKE_OBJECT_STORE_URL" not in find(docs, "ConfigMap", "govproj-intake")["data"]
    assert not [n for n in names["review"] if "MAILER" in n]
    assert "GOVPROJ_REVIEW_OBJECT_STORE_ACCESS_KEY" in names["review"]
    assert helmcheck.check_settings(docs) == []


@pytest.mark.parametrize(
    "values",
    [
        {"global": {"objectStore": {"endpoint": "https://s3", "region": "x", "bucket": "b"}}},
        {"components": {"intake": {"objectStore": {"enabled": True, "bucket": "Bad_Bucket"}}}},
        {
            "components": {
                "intake": {
                    "objectStore": {
                        "secret": {"accessKeyKey": "k", "secretKeyKey": "s", "accessKey": "AKIAXXXX"}
                    }
                }
            }
        },
        {
            "components": {
                "review": {
                    "mailer": {"secret": {"usernameKey": "u", "passwordKey": "p", "password": "hunter2"}}
                }
            }
        },
        {"components": {"review": {"mailer": {"password": "hunter2"}}}},
        {"components": {"review": {"mailer": {"security": "ssl"}}}},
        {"components": {"review": {"mailer": {"from": "not an address"}}}},
        {
            "components": {
                "intake": {"uploads": {"maxBytes": 1000, "allowedTypes": ["application/x-msdownload"]}}
            }
        },
        {"components": {"intake": {"uploads": {"maxBytes": 0, "allowedTypes": ["application/pdf"]}}}},
        {"components": {"intake": {"upload": {"maxBytes": 1000}}}},
        {
            "components": {
                "portal": {
                    "objectStore": {
                        "enabled": True,
                        "bucket": "govproj-portal",
                        "secret": {"accessKeyKey": "a", "secretKeyKey": "s"},
                    }
                }
            }
        },
        # null removes a default: an enabled relay needs its sender, and with auth its Secret.
        {"components": {"review": {"mailer": {"from": None}}}},
        {"components": {"review": {"mailer": {"auth": True, "secret": None}}}},
    ],
    ids=[
        "bucket-in-global",
        "bad-bucket-name",
        "literal-s3-key",
        "literal-smtp-password",
        "password-beside-the-relay",
        "unknown-tls-mode",
        "bad-sender",
        "unknown-upload-type",
        "zero-upload-limit",
        "typo-uploads",
        "object-store-on-the-portal",
        "relay-without-sender",
        "login-without-secret",
    ],
)
def test_schema_rejects_bad_object_store_mailer_and_upload_values(values: dict[str, Any]) -> None:
    assert helmcheck.lint(CHART, values)


@pytest.mark.parametrize("path", helmcheck.values_files(CHART), ids=lambda p: p.name)
def test_portal_replicas_share_sessions_through_nats_under_a_key_from_a_secret(path: Path) -> None:
    values = chart_values(path)
    docs = docs_for(helmcheck.user_values(CHART, path))
    settings = service_settings(docs, "portal")
    secret = values["components"]["portal"]["secret"]
    assert settings.nats_url == values["global"]["nats"]["url"]
    assert settings.session_key.get_secret_value() == f"{secret['name']}/{secret['sessionKeyKey']}"


def test_schema_requires_the_portal_session_key() -> None:
    assert helmcheck.lint(CHART, {"components": {"portal": {"secret": {"sessionKeyKey": None}}}})


@pytest.mark.parametrize("path", helmcheck.values_files(CHART), ids=lambda p: p.name)
def test_services_record_the_share_of_traces_the_values_ask_for(path: Path) -> None:
    values = chart_values(path)
    docs = docs_for(helmcheck.user_values(CHART, path))
    assert service_settings(docs, "intake").otel_sample_ratio == values["global"]["otel"]["sampleRatio"]


def test_schema_refuses_a_trace_share_above_one() -> None:
    assert helmcheck.lint(CHART, {"global": {"otel": {"sampleRatio": 1.5}}})
