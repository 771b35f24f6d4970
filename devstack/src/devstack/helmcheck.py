"""`make helm-check`: prove the Helm chart renders, lints, validates, scans clean and configures
every service with settings it actually reads — without a cluster and without the helm binary.

For values.yaml and every ci/*-values.yaml:

1. render with Helm's own Go SDK (PyPI helm-python-sdk) and lint strictly (schema included);
2. validate every rendered document against the Kubernetes OpenAPI schemas (kubernetes-validate,
   strict: unknown fields are errors);
3. check each workload's environment against the settings class named by its
   ``govproj.io/settings`` annotation: every variable is a field the class reads, every value
   parses, secrets come only from ``secretKeyRef``, and what the workload's role needs is set.

Then checkov's Kubernetes framework runs once over all rendered folders (its import is the slow
part; its Helm mode silently skips without a helm binary, hence the folders). A failed check fails
the run; a skipped one must carry its reason in a ``checkov.io/skipN: CKV_K8S_xx=reason`` annotation.

Exit status: 0 clean, 1 findings (printed as a report), 2 the tooling itself broke.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
CHART_DIR = REPO_ROOT / "deploy" / "helm" / "govproj"
KUBE_VERSION = "1.31.0"
RELEASE_NAME = "govproj"
NAMESPACE = "govproj"
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
# Pods must listen on their own IP, not loopback (probes and Services reach them there).
ALL_INTERFACES = "0.0.0.0"  # noqa: S104
SECRET_PLACEHOLDER = "from-a-secret"  # stands in for secretKeyRef values when parsing settings

# What each workload role must set (field names of its settings class) and the values some must
# have. "service" is a bounded-context Deployment, "migrations" its hook Job, "streams" the JetStream
# Job, "portal" the web UI. Decided here, documented in docs/adr/0006-helm-chart.md.
REQUIRED: dict[str, set[str]] = {
    "service": {
        "database_url",
        "nats_url",
        "oidc_server_url",
        "oidc_client_secret",
        "http_host",
        "http_port",
        "grpc_host",
        "grpc_port",
        "run_migrations",
    },
    "migrations": {"migrations_database_url", "run_migrations"},
    "streams": {"nats_url"},
    "portal": {
        "http_host",
        "http_port",
        "oidc_server_url",
        "oidc_client_secret",
        "public_url",
        "intake_grpc_target",
        "review_grpc_target",
        "services",
        "nats_url",
        "session_key",
    },
}
EXPECTED: dict[str, dict[str, str]] = {
    # Listen on the pod IP, not loopback; the Deployment never migrates (the hook Job does).
    "service": {"http_host": ALL_INTERFACES, "grpc_host": ALL_INTERFACES, "run_migrations": "false"},
    "migrations": {"run_migrations": "true"},
    "portal": {"http_host": ALL_INTERFACES},
}
# Least privilege: the long-running pods never hold the schema owner's credentials.
FORBIDDEN: dict[str, set[str]] = {"service": {"migrations_database_url"}}


@dataclass
class Report:
    """Findings per values file (label) and stage, printed at the end."""

    findings: dict[str, list[str]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)

    def add(self, label: str, stage: str, message: str) -> None:
        """Record one failure."""
        self.findings.setdefault(label, []).append(f"[{stage}] {message}")

    def note(self, label: str, message: str) -> None:
        """Record one line of the summary (not a failure)."""
        self.notes.setdefault(label, []).append(message)

    @property
    def failed(self) -> bool:
        """Whether any finding was recorded."""
        return any(self.findings.values())


# --- rendering and linting ----------------------------------------------------------------------


def values_files(chart: Path) -> list[Path]:
    """values.yaml first, then every ci/*-values.yaml (sorted)."""
    return [chart / "values.yaml", *sorted((chart / "ci").glob("*-values.yaml"))]


def label_of(chart: Path, path: Path) -> str:
    """A short, folder-safe name for a values file ("values.yaml", "ci/prod-values.yaml")."""
    return str(path.relative_to(chart))


def user_values(chart: Path, path: Path) -> dict[str, Any]:
    """The values passed on top of the chart's defaults (values.yaml itself adds nothing)."""
    if path == chart / "values.yaml":
        return {}
    loaded = yaml.safe_load(path.read_text()) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: not a mapping")
    return loaded


def lint(chart: Path, values: dict[str, Any]) -> list[str]:
    """`helm lint --strict` findings (warnings count as failures; info does not)."""
    import helm_python

    result = helm_python.lint(
        chart, values, strict=True, namespace=NAMESPACE, kube_version=f"v{KUBE_VERSION}"
    )
    problems = [
        f"{m.get('path', '')}: {m.get('error', '')}"
        for m in result.get("messages", [])
        if m.get("severity", 0) >= 2
    ]
    problems += [str(e) for e in result.get("errors", []) if str(e) not in " ".join(problems)]
    return problems


def render(chart: Path, values: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Template path → its rendered documents (empty ones dropped), as `helm install` would."""
    import helm_python

    loaded = helm_python.Chart.load(chart)
    manifests = loaded.render(values, name=RELEASE_NAME, namespace=NAMESPACE, is_install=True)
    rendered: dict[str, list[dict[str, Any]]] = {}
    for template, text in sorted(manifests.items()):
        if template.endswith("NOTES.txt"):
            continue
        docs = [d for d in yaml.safe_load_all(text) if d]
        if docs:
            rendered[template] = docs
    return rendered


def kn(doc: dict[str, Any]) -> str:
    """Kind/name of a document, for messages."""
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def validate(docs: list[dict[str, Any]]) -> list[str]:
    """Strict Kubernetes schema validation of every document."""
    import kubernetes_validate

    problems = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as err:
            where = ".".join(str(p) for p in err.path)
            problems.append(f"{kn(doc)}: {where}: {err.message}")
        except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as err:
            problems.append(f"{kn(doc)}: no schema to validate against: {err}")
    return problems


# --- settings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingsInfo:
    """What a settings class reads from the environment."""

    cls: type[Any]
    prefix: str
    fields: frozenset[str]
    secrets: frozenset[str]


def settings_info(component: str) -> SettingsInfo:
    """The pydantic-settings class of ``<component>.settings`` (the one defined in that module)."""
    from pydantic import SecretStr
    from pydantic_settings import BaseSettings

    module = importlib.import_module(f"{component}.settings")
    classes = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, BaseSettings) and obj.__module__ == module.__name__
    ]
    if len(classes) != 1:
        raise LookupError(f"{module.__name__} defines {len(classes)} settings classes, expected one")
    cls = classes[0]
    secrets = {
        name
        for name, info in cls.model_fields.items()
        if info.annotation is SecretStr or SecretStr in getattr(info.annotation, "__args__", ())
    }
    return SettingsInfo(
        cls=cls,
        prefix=str(cls.model_config.get("env_prefix", "")),
        fields=frozenset(cls.model_fields),
        secrets=frozenset(secrets),
    )


@contextlib.contextmanager
def isolated_environ(values: dict[str, str]) -> Iterator[None]:
    """os.environ holding only ``values`` (so the developer's own GOVPROJ_* cannot leak in)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def pod_spec(doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(pod template metadata, pod spec) of a workload."""
    spec = doc.get("spec", {})
    if doc.get("kind") == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    template = spec.get("template", {})
    return template.get("metadata", {}), template.get("spec", {})


def container_env(
    container: dict[str, Any], configmaps: dict[str, dict[str, str]], where: str, problems: list[str]
) -> dict[str, tuple[str, str | None]]:
    """Env name → (source, literal value or None) of one container, resolving ConfigMap envFrom."""
    env: dict[str, tuple[str, str | None]] = {}
    for ref in container.get("envFrom", []):
        if "configMapRef" in ref:
            name = ref["configMapRef"].get("name", "")
            if name not in configmaps:
                problems.append(f"{where}: envFrom ConfigMap {name!r} is not rendered by the chart")
                continue
            prefix = ref.get("prefix", "")
            for key, value in configmaps[name].items():
                env[prefix + key] = (f"configmap {name}", str(value))
        else:
            # Names inside a Secret cannot be checked against the settings: forbid the form.
            problems.append(
                f"{where}: envFrom {sorted(ref)} hides which settings it sets; use env/secretKeyRef"
            )
    for item in container.get("env", []):
        name = item["name"]
        if "value" in item:
            env[name] = ("value", str(item["value"]))
        elif "secretKeyRef" in item.get("valueFrom", {}):
            env[name] = ("secret", None)
        else:
            env[name] = (f"valueFrom {sorted(item.get('valueFrom', {}))}", None)
    return env


def check_settings(docs: list[dict[str, Any]]) -> list[str]:
    """Every env var a workload sets is a field its settings read, with a parsable value; secrets
    come only from secretKeyRef; what its role needs is set (see REQUIRED/EXPECTED/FORBIDDEN)."""
    problems: list[str] = []
    configmaps = {
        d["metadata"]["name"]: d.get("data", {}) or {} for d in docs if d.get("kind") == "ConfigMap"
    }
    for doc in docs:
        if doc.get("kind") not in WORKLOAD_KINDS:
            continue
        meta, spec = pod_spec(doc)
        annotations = meta.get("annotations", {}) or {}
        component = annotations.get("govproj.io/settings")
        role = annotations.get("govproj.io/role")
        if not component or not role:
            problems.append(
                f"{kn(doc)}: pod template lacks govproj.io/settings and govproj.io/role annotations"
            )
            continue
        try:
            info = settings_info(component)
        except (ImportError, LookupError) as err:
            problems.append(f"{kn(doc)}: cannot load the settings of {component!r}: {err}")
            continue
        for container in spec.get("initContainers", []) + spec.get("containers", []):
            where = f"{kn(doc)} container {container.get('name')}"
            problems += check_container(container, info, role, configmaps, where)
    return problems


def check_container(
    container: dict[str, Any],
    info: SettingsInfo,
    role: str,
    configmaps: dict[str, dict[str, str]],
    where: str,
) -> list[str]:
    """The settings checks of one container (see :func:`check_settings`)."""
    problems: list[str] = []
    env = container_env(container, configmaps, where, problems)
    cls_name = info.cls.__name__
    set_fields: dict[str, tuple[str, str | None]] = {}
    for name, (source, value) in sorted(env.items()):
        field_name = name[len(info.prefix) :].lower() if name.startswith(info.prefix) else None
        if field_name is None or field_name not in info.fields or name != name.upper():
            problems.append(f"{where}: sets {name} ({source}), which {cls_name} does not read")
            continue
        if field_name in info.secrets and source != "secret":
            problems.append(f"{where}: secret setting {name} comes from {source}; use valueFrom.secretKeyRef")
        set_fields[field_name] = (source, value)
    for needed in sorted(REQUIRED.get(role, set()) - set(set_fields)):
        problems.append(f"{where}: {role} needs {info.prefix}{needed.upper()}, which is not set")
    for name, expected in EXPECTED.get(role, {}).items():
        if name in set_fields and (set_fields[name][1] or "").lower() != expected:
            problems.append(
                f"{where}: {info.prefix}{name.upper()} is {set_fields[name][1]!r}, expected {expected!r}"
            )
    for name in sorted(FORBIDDEN.get(role, set()) & set(set_fields)):
        problems.append(f"{where}: a {role} pod must not get {info.prefix}{name.upper()} (least privilege)")
    ports = {p.get("name"): str(p.get("containerPort")) for p in container.get("ports", [])}
    for port_name in ("http", "grpc"):
        setting = set_fields.get(f"{port_name}_port")
        if port_name in ports and setting is not None and setting[1] != ports[port_name]:
            env_name = f"{info.prefix}{port_name.upper()}_PORT"
            problems.append(
                f"{where}: {env_name}={setting[1]} but containerPort {port_name}={ports[port_name]}"
            )
    # Parse the values exactly as the service will (types, Literals, JSON dicts).
    environ = {
        name: (SECRET_PLACEHOLDER if source == "secret" else value or "")
        for name, (source, value) in env.items()
    }
    try:
        with isolated_environ(environ):
            info.cls()
    except ValueError as err:  # pydantic's ValidationError and pydantic-settings' SettingsError
        first = str(err).splitlines()
        problems.append(f"{where}: {cls_name} rejects the rendered env: {' '.join(first[:3])}")
    return problems


# --- checkov -------------------------------------------------------------------------------------


def write_manifests(folder: Path, rendered: dict[str, list[dict[str, Any]]]) -> None:
    """One YAML file per template under ``folder`` (what checkov scans)."""
    for template, docs in rendered.items():
        target = folder / template.replace("/", "__")
        target.write_text(yaml.safe_dump_all(docs, sort_keys=False))


def run_checkov(root: Path) -> dict[str, Any]:
    """checkov's Kubernetes framework over every folder under ``root``, once; its JSON report."""
    exe = Path(sys.executable).with_name("checkov")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "checkov.main"]
    command += ["-d", str(root), "--framework", "kubernetes", "-o", "json", "--compact"]
    command += ["--skip-download", "--no-fail-on-crash"]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_NO_OUTPUT_BANNER": "TRUE"}
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=300)
    start = proc.stdout.find("{")
    list_start = proc.stdout.find("[")
    if list_start != -1 and (start == -1 or list_start < start):
        start = list_start
    if start == -1:
        raise RuntimeError(
            f"checkov printed no JSON (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )
    report = json.loads(proc.stdout[start:])
    if isinstance(report, list):
        kube = [r for r in report if r.get("check_type") == "kubernetes"]
        report = kube[0] if kube else {}
    if not isinstance(report, dict):
        raise RuntimeError(f"unexpected checkov report: {str(report)[:500]}")
    return report


def checkov_findings(report: dict[str, Any], labels: dict[str, str], out: Report) -> None:
    """Failed checks and reason-less skips → findings; counts → notes (per values file)."""
    results = report.get("results", {}) or {}
    summary = report.get("summary", {}) or {}
    if not results and not summary:
        # checkov with nothing to scan prints an empty summary: that is a broken run, not a pass.
        for name in labels.values():
            out.add(name, "checkov", "checkov scanned nothing (no Kubernetes manifests found)")
        return

    def label(check: dict[str, Any]) -> str:
        folder = str(check.get("file_path", "")).lstrip("/").split("/")[0]
        return labels.get(folder, folder)

    counts: dict[str, dict[str, int]] = {
        lbl: {"passed": 0, "failed": 0, "skipped": 0} for lbl in labels.values()
    }
    for check in results.get("passed_checks", []):
        counts.setdefault(label(check), {"passed": 0, "failed": 0, "skipped": 0})["passed"] += 1
    for check in results.get("failed_checks", []):
        lbl = label(check)
        counts.setdefault(lbl, {"passed": 0, "failed": 0, "skipped": 0})["failed"] += 1
        out.add(
            lbl, "checkov", f"{check.get('check_id')} {check.get('check_name')} on {check.get('resource')}"
        )
    for check in results.get("skipped_checks", []):
        lbl = label(check)
        counts.setdefault(lbl, {"passed": 0, "failed": 0, "skipped": 0})["skipped"] += 1
        reason = str(check.get("check_result", {}).get("suppress_comment", "")).strip()
        if not reason or reason.lower() == "no comment provided":
            out.add(
                lbl, "checkov", f"{check.get('check_id')} skipped on {check.get('resource')} without a reason"
            )
    for parse_error in results.get("parsing_errors", []) or []:
        out.add("checkov", "checkov", f"could not parse {parse_error}")
    for lbl, c in counts.items():
        out.note(
            lbl, f"checkov: {c['passed']} passed, {c['skipped']} skipped with reasons, {c['failed']} failed"
        )


# --- main ----------------------------------------------------------------------------------------


def check_values_file(chart: Path, path: Path, folder: Path, out: Report) -> None:
    """Stages 1-3 for one values file; the manifests are written to ``folder`` for checkov."""
    from helm_python import HelmError

    label = label_of(chart, path)
    try:
        values = user_values(chart, path)
    except (OSError, ValueError, yaml.YAMLError) as err:
        out.add(label, "values", str(err))
        return
    for problem in lint(chart, values):
        out.add(label, "lint", problem)
    try:
        rendered = render(chart, values)
    except HelmError as err:  # a template or the values schema failed: report, don't crash
        out.add(label, "render", f"{type(err).__name__}: {err}")
        return
    docs = [d for group in rendered.values() for d in group]
    kinds: dict[str, int] = {}
    for doc in docs:
        kinds[str(doc.get("kind"))] = kinds.get(str(doc.get("kind")), 0) + 1
    out.note(
        label, f"rendered {len(docs)} documents: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    )
    for problem in validate(docs):
        out.add(label, "kubernetes-validate", problem)
    for problem in check_settings(docs):
        out.add(label, "settings", problem)
    folder.mkdir(parents=True, exist_ok=True)
    write_manifests(folder, rendered)


def print_report(out: Report, labels: list[str], seconds: float) -> None:
    """The human report: one block per values file."""
    for label in [*labels, *(k for k in out.findings if k not in labels)]:
        problems = out.findings.get(label, [])
        print(f"{'FAIL' if problems else 'ok  '} {label}")
        for note in out.notes.get(label, []):
            print(f"       {note}")
        for problem in problems:
            print(f"     ✗ {problem}")
    total = sum(len(v) for v in out.findings.values())
    verdict = f"{total} finding(s)" if total else "all checks passed"
    print(f"helm-check: {verdict} ({len(labels)} values files, {seconds:.1f}s)")


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m devstack.helmcheck`."""
    parser = argparse.ArgumentParser(prog="python -m devstack.helmcheck", description=__doc__.splitlines()[0])
    parser.add_argument("--chart", type=Path, default=CHART_DIR)
    parser.add_argument("--out", type=Path, help="keep the rendered manifests here (default: a temp dir)")
    parser.add_argument("--no-checkov", action="store_true", help="skip the checkov scan (faster)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    chart: Path = args.chart.resolve()
    out = Report()
    root = args.out.resolve() if args.out else Path(tempfile.mkdtemp(prefix="helmcheck-"))
    try:
        if args.out and root.exists():
            shutil.rmtree(root)
        files = values_files(chart)
        folders = {
            label_of(chart, p).replace("/", "__").removesuffix(".yaml"): label_of(chart, p) for p in files
        }
        try:
            for path, folder in zip(files, folders, strict=True):
                check_values_file(chart, path, root / folder, out)
            if not args.no_checkov:
                checkov_findings(run_checkov(root), folders, out)
        except (ImportError, RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as err:
            print(f"helm-check: the tooling failed: {type(err).__name__}: {err}", file=sys.stderr)
            return 2
        print_report(out, list(folders.values()), time.monotonic() - started)
        return 1 if out.failed else 0
    finally:
        if not args.out:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
