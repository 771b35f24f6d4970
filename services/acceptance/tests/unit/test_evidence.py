"""Which assessments the pack requires before the trial run and before the final acceptance."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from acceptance.domain import evidence as ev
from govkit.errors import AppError
from govkit.policy import PolicyRegistry, evaluate, obligations


def _required(packs: PolicyRegistry, pack_id: str, facts: dict[str, object]) -> list[ev.EvidenceRequirement]:
    pack = packs.get(pack_id)
    third = evaluate(pack, facts)["third_party_acceptance_test"]
    return ev.required(
        obligations(pack, "acceptance_evidence", facts), third_party=third.value, third_party_cite=third.cite
    )


def _evidence(kind: ev.EvidenceKind, conclusion: ev.Conclusion = ev.Conclusion.PASS) -> ev.Evidence:
    return ev.Evidence(
        "e",
        "t",
        "p",
        kind,
        conclusion,
        "测评机构",
        date(2025, 5, 1),
        "r.pdf",
        "0" * 64,
        1,
        "application/pdf",
        "k",
        "u",
        datetime.now(UTC),
        level=3 if kind is ev.EvidenceKind.MLPS else None,
    )


def test_shuangyashan_public_facing_above_a_million(packs: PolicyRegistry) -> None:
    needed = _required(
        packs, "shuangyashan-2024", {"amount": 2_000_000, "contract_amount": 1_000_000, "public_facing": True}
    )
    kinds = {r.kind: r for r in needed}
    assert set(kinds) == {
        ev.EvidenceKind.MLPS,
        ev.EvidenceKind.CRYPTO,
        ev.EvidenceKind.SECURITY_RISK,
        ev.EvidenceKind.RESOURCE_CATALOG,
        ev.EvidenceKind.USER_PARTICIPATION,
        ev.EvidenceKind.THIRD_PARTY_TEST,
    }
    assert kinds[ev.EvidenceKind.THIRD_PARTY_TEST].cite == ("shuangyashan-2024 §29(3)",)
    assert kinds[ev.EvidenceKind.USER_PARTICIPATION].cite == ("shuangyashan-2024 §29(5)",)


def test_shuangyashan_internal_below_a_million(packs: PolicyRegistry) -> None:
    needed = _required(
        packs,
        "shuangyashan-2024",
        {"amount": 2_000_000, "contract_amount": 999_999.99, "public_facing": False},
    )
    kinds = {r.kind for r in needed}
    assert ev.EvidenceKind.THIRD_PARTY_TEST not in kinds
    assert ev.EvidenceKind.USER_PARTICIPATION not in kinds


def test_wuxing_security_assessment_before_the_trial_run(packs: PolicyRegistry) -> None:
    needed = _required(packs, "wuxing-2023", {"amount": 2_000_000})
    lacking = ev.missing(needed, [], before=ev.Before.TRIAL_RUN)
    assert [r.kind for r in lacking] == [ev.EvidenceKind.SECURITY_RISK]
    with pytest.raises(AppError) as refused:
        ev.ensure_present(lacking, step_zh="试运行")
    assert refused.value.code == "EVIDENCE_MISSING" and refused.value.cite == ["wuxing-2023 §20"]
    failed = [_evidence(ev.EvidenceKind.SECURITY_RISK, ev.Conclusion.FAIL)]
    assert ev.missing(needed, failed, before=ev.Before.TRIAL_RUN)  # a failed assessment does not count
    have = [_evidence(ev.EvidenceKind.SECURITY_RISK)]
    assert ev.missing(needed, have, before=ev.Before.TRIAL_RUN) == []
    assert [r.kind for r in ev.missing(needed, have, before=ev.Before.FINAL_ACCEPTANCE)] == [
        ev.EvidenceKind.RESOURCE_CATALOG
    ]


def test_mlps_report_names_its_level() -> None:
    with pytest.raises(AppError):
        ev.check_fields(kind=ev.EvidenceKind.MLPS, level=None, issued_by="测评中心")
    with pytest.raises(AppError):
        ev.check_fields(kind=ev.EvidenceKind.MLPS, level=6, issued_by="测评中心")
    with pytest.raises(AppError):
        ev.check_fields(kind=ev.EvidenceKind.CRYPTO, level=3, issued_by="测评中心")
    ev.check_fields(kind=ev.EvidenceKind.MLPS, level=3, issued_by="测评中心")
