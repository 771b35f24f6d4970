"""Assessments and other evidence an acceptance rests on, and which of them the pack requires.

Kinds: the MLPS test report with its level (等保测评, 1–5), the crypto assessment (密评), the
security risk assessment, the third-party acceptance test (where ``third_party_acceptance_test``
says so for the contract amount, shuangyashan-2024 §29(3)), the resource-catalog registration
(shuangyashan-2024 §29(4), wuxing-2023 §18) and the users' participation in testing of a
public-facing system (shuangyashan-2024 §29(5)). The pack lists them as ``acceptance_evidence``
obligations with ``params: {kind, before}``: ``before: trial_run`` must exist to start the trial
run (wuxing-2023 §20), ``before: final_acceptance`` to apply for the final acceptance. Each file is
kept in the object store with its SHA-256; only evidence concluded ``pass`` counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from govkit.errors import AppError, ErrorKind


class EvidenceKind(StrEnum):
    """What a piece of evidence is."""

    MLPS = "mlps"
    CRYPTO = "crypto"
    SECURITY_RISK = "security_risk"
    THIRD_PARTY_TEST = "third_party_test"
    RESOURCE_CATALOG = "resource_catalog"
    USER_PARTICIPATION = "user_participation"


KIND_ZH = {
    EvidenceKind.MLPS: "网络安全等级保护测评报告",
    EvidenceKind.CRYPTO: "密码应用安全性评估报告",
    EvidenceKind.SECURITY_RISK: "安全风险评估报告",
    EvidenceKind.THIRD_PARTY_TEST: "第三方验收测评报告",
    EvidenceKind.RESOURCE_CATALOG: "资源目录登记证明",
    EvidenceKind.USER_PARTICIPATION: "服务对象参与测试记录",
}


class Before(StrEnum):
    """The step a piece of evidence must precede."""

    TRIAL_RUN = "trial_run"
    FINAL_ACCEPTANCE = "final_acceptance"


class Conclusion(StrEnum):
    """The assessment's conclusion."""

    PASS = "pass"  # noqa: S105 - a conclusion, not a password
    FAIL = "fail"


MLPS_LEVELS = range(1, 6)  # GB/T 22239-2019: levels 1 to 5


@dataclass(frozen=True)
class Evidence:
    """One recorded assessment or document."""

    id: str
    tenant_id: str
    project_id: str
    kind: EvidenceKind
    conclusion: Conclusion
    issued_by: str
    issued_on: date
    filename: str
    sha256: str
    size: int
    content_type: str
    object_key: str
    recorded_by: str
    recorded_at: datetime
    level: int | None = None


@dataclass(frozen=True)
class EvidenceRequirement:
    """A piece of evidence the pack requires, before which step, with its articles."""

    kind: EvidenceKind
    label_zh: str
    before: Before
    cite: tuple[str, ...]


def check_fields(*, kind: EvidenceKind, level: int | None, issued_by: str) -> None:
    """An MLPS report names its level; every report names who issued it."""
    if kind is EvidenceKind.MLPS and level not in MLPS_LEVELS:
        raise AppError(
            code="MLPS_LEVEL_REQUIRED",
            message="等保测评报告须填写安全保护等级（一级至五级）。",
            kind=ErrorKind.INVALID,
            details={"level": level},
        )
    if kind is not EvidenceKind.MLPS and level is not None:
        raise AppError(
            code="LEVEL_NOT_APPLICABLE", message="只有等保测评报告填写等级。", kind=ErrorKind.INVALID
        )
    if not issued_by.strip():
        raise AppError(code="ISSUER_REQUIRED", message="请填写出具报告的机构。", kind=ErrorKind.INVALID)


def required(
    obligations: Iterable[Mapping[str, Any]], *, third_party: Any, third_party_cite: Sequence[str]
) -> list[EvidenceRequirement]:
    """The evidence a project needs: the pack's ``acceptance_evidence`` rows that apply, plus the
    third-party acceptance test when ``third_party_acceptance_test`` is true for the facts."""
    out: list[EvidenceRequirement] = []
    for row in obligations:
        if row.get("applies") is False:
            continue
        params = row.get("params") or {}
        out.append(
            EvidenceRequirement(
                kind=EvidenceKind(str(params["kind"])),
                label_zh=str(row["label_zh"]),
                before=Before(str(params.get("before", Before.FINAL_ACCEPTANCE.value))),
                cite=tuple(row["cite"]),
            )
        )
    if third_party is True:
        out.append(
            EvidenceRequirement(
                kind=EvidenceKind.THIRD_PARTY_TEST,
                label_zh=KIND_ZH[EvidenceKind.THIRD_PARTY_TEST],
                before=Before.FINAL_ACCEPTANCE,
                cite=tuple(third_party_cite),
            )
        )
    return out


def missing(
    requirements: Iterable[EvidenceRequirement], evidence: Iterable[Evidence], *, before: Before
) -> list[EvidenceRequirement]:
    """Requirements due by ``before`` (a trial-run requirement is due by the final acceptance too)
    without passing evidence of their kind."""
    have = {e.kind for e in evidence if e.conclusion is Conclusion.PASS}
    due = {Before.TRIAL_RUN} if before is Before.TRIAL_RUN else {Before.TRIAL_RUN, Before.FINAL_ACCEPTANCE}
    return [r for r in requirements if r.before in due and r.kind not in have]


def ensure_present(lacking: Sequence[EvidenceRequirement], *, step_zh: str) -> None:
    """Refuse the step, naming every missing piece and its articles."""
    if not lacking:
        return
    names = "、".join(r.label_zh for r in lacking)
    raise AppError(
        code="EVIDENCE_MISSING",
        message=f"{step_zh}前须提交：{names}。",
        kind=ErrorKind.PRECONDITION,
        details={"missing": [r.kind.value for r in lacking]},
        cite=sorted({c for r in lacking for c in r.cite}),
    )
