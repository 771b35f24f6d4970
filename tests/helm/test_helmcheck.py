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


def test_chart_declares_no_dependencies_and_never_ships_the_dev_realm() -> None:
    import yaml

    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert "dependencies" not in chart
    text = "\n".join(p.read_text() for p in CHART.rglob("*") if p.is_file())
    assert "realm-govproj.dev" not in text
    assert "govproj-cli" not in text


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
