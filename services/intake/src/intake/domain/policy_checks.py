"""What the tenant's policy pack says about a declaration at intake. Pure: the pack is passed in.

Nothing here knows a jurisdiction, an amount or an article: every rule is asked of the pack
(govkit.policy) and every refusal carries the pack's citations.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from govkit.errors import AppError, ErrorKind
from govkit.policy import Pack, evaluate, obligations, prohibition, quotas
from intake.domain.declaration import ConstructionItem, ConstructionType, Declaration
from intake.domain.materials import DOC_TYPE_LABELS_ZH

# Which pack prohibition a declared fact would fall under (intake's reading of the form; whether
# it is prohibited, and by which article, is the pack's).
ITEM_PROHIBITIONS: dict[ConstructionItem, str] = {
    ConstructionItem.MACHINE_ROOM: "new_machine_room",
    ConstructionItem.CLOUD_PLATFORM: "new_cloud",
    ConstructionItem.DATA_CENTER: "new_data_center",
    ConstructionItem.PRIVATE_NETWORK: "new_private_network",
    ConstructionItem.SERVER_PURCHASE: "server_purchase",
}
NOT_ON_GOV_CLOUD = "not_on_gov_cloud"
UNCLEAR_GOALS = "unclear_goals"
DUPLICATE_FUNCTION = "duplicate_function"
PROJECT_SPLITTING = "project_splitting"
CLASSIFIED = "classified_out_of_scope"
SPLITTING_THRESHOLD = "splitting_threshold"
PROVINCIAL_PLATFORM_CODE = "provincial_platform_code"


def facts_for(
    declaration: Declaration, *, org_budget_units: int | None, tenant_level: str | None
) -> dict[str, Any]:
    """The policy contract's facts for this declaration (POLICY-CONTRACT.md)."""
    facts: dict[str, Any] = {
        "amount": declaration.amount,
        "category": declaration.category.value,
        "construction_type": declaration.construction_type.value,
        "goods_and_services_only": declaration.goods_and_services_only,
        "simple": declaration.simple,
        "emergency": declaration.emergency,
        "public_facing": declaration.public_facing,
    }
    if org_budget_units is not None:
        facts["org_budget_units"] = org_budget_units
    if tenant_level in ("city", "county"):
        facts["tenant_level"] = tenant_level
    return facts


def classified_refusal(pack: Pack) -> AppError:
    """涉密 projects follow secrecy rules outside the platform (all five documents)."""
    cites = sorted({c for ob in obligations(pack, CLASSIFIED) for c in ob["cite"]})
    return AppError(
        code="CLASSIFIED_OUT_OF_SCOPE",
        message="涉密项目不在本平台申报，请按保密有关规定办理。",
        kind=ErrorKind.PRECONDITION,
        details={"reason": "classified"},
        cite=cites,
    )


def prohibited(pack: Pack, declaration: Declaration) -> list[dict[str, Any]]:
    """The pack's prohibitions this declaration falls under: ``[{code, label_zh, cite}]``."""
    candidates: list[str] = [ITEM_PROHIBITIONS[item] for item in declaration.construction_items]
    # Deployment on the government cloud concerns what is built (new, upgraded, expanded systems).
    if not declaration.cloud_deployment and declaration.construction_type is not ConstructionType.OM:
        candidates.append(NOT_ON_GOV_CLOUD)
    if not declaration.performance_goals.strip() or not declaration.necessity.strip():
        candidates.append(UNCLEAR_GOALS)
    found = []
    for code in dict.fromkeys(candidates):
        item = prohibition(pack, code)
        if item is not None:
            found.append({"code": item["code"], "label_zh": item["label_zh"], "cite": list(item["cite"])})
    return found


def ensure_not_prohibited(pack: Pack, declaration: Declaration) -> None:
    """Refuse a declaration of a type the pack prohibits, naming each type and its article."""
    found = prohibited(pack, declaration)
    if found:
        labels = "；".join(f"{p['label_zh']}（{'、'.join(p['cite'])}）" for p in found)
        raise AppError(
            code="DECLARATION_PROHIBITED",
            message=f"该项目属于不得申报的类型：{labels}。",
            kind=ErrorKind.PRECONDITION,
            details={"prohibited": found},
            cite=sorted({c for p in found for c in p["cite"]}),
        )


def has_quota(pack: Pack, facts: Mapping[str, Any]) -> bool:
    """Whether the pack limits how many declarations an org with these facts makes a year."""
    return quotas(pack, facts)["max_declarations_per_org_per_year"].value is not None


def ensure_quota(pack: Pack, facts: Mapping[str, Any], *, already: int, plan_year: int) -> tuple[str, ...]:
    """Refuse a declaration over the per-org yearly quota; returns the quota's articles (or ()).

    ``already`` counts the org's other declarations for ``plan_year`` that went to the bureau.
    """
    quota = quotas(pack, facts)["max_declarations_per_org_per_year"]
    if quota.value is None:
        return ()
    limit = int(quota.value)
    if already + 1 > limit:
        raise AppError(
            code="DECLARATION_QUOTA_EXCEEDED",
            message=(
                f"本单位 {plan_year} 年度已申报 {already} 个项目，已达到管理办法规定的上限（{limit} 个）。"
            ),
            kind=ErrorKind.PRECONDITION,
            details={"limit": limit, "already": already, "plan_year": plan_year},
            cite=list(quota.cite),
        )
    return tuple(quota.cite)


@dataclass(frozen=True)
class RequiredDocuments:
    """Documents the pack requires for these facts: all of ``required``, one of each alternative group."""

    required: tuple[str, ...]
    alternatives: tuple[tuple[str, ...], ...]
    citations: tuple[str, ...]

    def missing(self, uploaded: Collection[str]) -> tuple[list[str], list[list[str]]]:
        """(required types not uploaded, alternative groups none of whose types is uploaded)."""
        have = set(uploaded)
        return (
            [d for d in self.required if d not in have],
            [list(group) for group in self.alternatives if not have.intersection(group)],
        )


def required_documents(pack: Pack, facts: Mapping[str, Any]) -> RequiredDocuments:
    """``required_documents`` and ``alternative_documents`` of the pack for these facts."""
    reqs = evaluate(pack, facts)
    required = reqs["required_documents"]
    alternatives = reqs["alternative_documents"]
    cites = sorted({*required.cite, *alternatives.cite})
    return RequiredDocuments(
        required=tuple(required.value or ()),
        alternatives=tuple(tuple(g) for g in (alternatives.value or ())),
        citations=tuple(cites),
    )


def ensure_materials(docs: RequiredDocuments, uploaded: Collection[str]) -> None:
    """Refuse a submission without the documents the pack requires."""
    missing, groups = docs.missing(uploaded)
    if not missing and not groups:
        return
    names = [DOC_TYPE_LABELS_ZH.get(d, d) for d in missing]
    names += ["或".join(DOC_TYPE_LABELS_ZH.get(d, d) for d in g) for g in groups]
    raise AppError(
        code="MATERIALS_MISSING",
        message=f"缺少管理办法要求的申报材料：{'、'.join(names)}。请上传后再提交。",
        kind=ErrorKind.PRECONDITION,
        details={"missing": missing, "missing_one_of": groups},
        cite=list(docs.citations),
    )


@dataclass(frozen=True)
class SupplementaryTerms:
    """Who must sign a supplementary (计划外/增补) project off, and the articles."""

    approved_by: str
    citations: tuple[str, ...]


def supplementary_terms(pack: Pack, *, funds_secured: bool) -> SupplementaryTerms:
    """The pack's supplementary route (qiaokou-2022 §14, lhasa §7, shuangyashan-2024 §16, wuxing-2023 §7).

    Refused where the pack has no such route, or requires secured funds that are not.
    """
    supp = pack.call_calendar.supplementary
    if supp is None:
        raise AppError(
            code="SUPPLEMENTARY_NOT_PROVIDED",
            message="本地区管理办法未规定计划外（增补）项目程序，请在年度计划征集期内申报。",
            kind=ErrorKind.PRECONDITION,
            details={"pack": pack.id},
        )
    cites = tuple(pack.cite(list(supp.cite)))
    if supp.requires_secured_funds and not funds_secured:
        raise AppError(
            code="SUPPLEMENTARY_FUNDS_NOT_SECURED",
            message="计划外（增补）项目须资金已经落实，方可申报。",
            kind=ErrorKind.PRECONDITION,
            details={"funds_secured": False},
            cite=list(cites),
        )
    return SupplementaryTerms(approved_by=supp.approved_by, citations=cites)


@dataclass(frozen=True)
class SplittingThreshold:
    """An amount projects may be split to stay under, the look-back window, and the articles."""

    amount: Decimal
    window_months: int
    label_zh: str
    citations: tuple[str, ...]


def splitting_thresholds(pack: Pack) -> list[SplittingThreshold]:
    """The pack's ``splitting_threshold`` obligations (none where the document forbids no splitting)."""
    out = []
    for ob in obligations(pack, SPLITTING_THRESHOLD):
        params = ob["params"]
        out.append(
            SplittingThreshold(
                amount=Decimal(str(params["amount"])),
                window_months=int(params["window_months"]),
                label_zh=ob["label_zh"],
                citations=tuple(ob["cite"]),
            )
        )
    return out


def duplicate_citations(pack: Pack) -> tuple[str, ...]:
    """The articles against duplicate construction (重复建设), where the pack has them."""
    item = prohibition(pack, DUPLICATE_FUNCTION)
    return tuple(item["cite"]) if item is not None else ()


def provincial_code_citations(pack: Pack) -> tuple[str, ...]:
    """The articles on the provincial platform's code (shuangyashan-2024 §18), where the pack has them."""
    return tuple(sorted({c for ob in obligations(pack, PROVINCIAL_PLATFORM_CODE) for c in ob["cite"]}))
