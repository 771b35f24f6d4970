"""Formal review (形式审查): are the documents and fields the pack requires for these facts there?

The checklist is the pack's, never a list in code: for the plan review ``review_process.plan_documents``
and ``plan_fields``; for the approval application ``required_documents`` plus
``alternative_documents`` (one of each group). A missing item goes back to the applicant for
correction (补正) with its label and article.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from govkit.policy import Pack, evaluate, review_process
from review.domain.declaration import DeclarationSnapshot

DOCUMENT_ZH = {
    "application_form": "项目申报表",
    "feasibility_study": "可行性研究报告",
    "technical_scheme": "技术方案",
    "preliminary_design": "初步设计（含概算）",
    "crypto_plan": "密码应用方案",
    "pre_performance_assessment": "事前绩效评估报告",
    "implementation_plan": "实施方案",
    "resource_catalog": "政务信息资源目录",
}


FACT_ZH = {
    "category": "项目类别",
    "construction_type": "建设类型",
    "goods_and_services_only": "是否仅为货物和服务类项目",
    "simple": "是否建设内容单一、技术方案简单",
    "emergency": "是否紧急建设",
    "public_facing": "是否公共服务类",
    "tenant_level": "申报地区层级",
    "built_by_bureau": "是否由数据局统一建设",
}


def _needs(requirements: Iterable[Any]) -> list[ChecklistItem]:
    """Facts a rule still waits for: the applicant has to state them before the check can finish."""
    items: dict[str, ChecklistItem] = {}
    for req in requirements:
        for need in getattr(req, "needs", []) or []:
            items.setdefault(
                need,
                ChecklistItem(
                    code=f"fact_{need}",
                    label_zh=FACT_ZH.get(need, need),
                    kind="fact",
                    present=False,
                    cite=tuple(req.cite),
                ),
            )
    return list(items.values())


def document_label(code: str) -> str:
    """The Chinese name of a document type."""
    return DOCUMENT_ZH.get(code, code)


@dataclass(frozen=True)
class ChecklistItem:
    """One thing the formal review looks for."""

    code: str
    label_zh: str
    kind: str  # "document" | "field" | "reviewer"
    present: bool
    cite: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "code": self.code,
            "label_zh": self.label_zh,
            "kind": self.kind,
            "present": self.present,
            "cite": list(self.cite),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChecklistItem:
        """From the JSON form."""
        return cls(
            code=str(data["code"]),
            label_zh=str(data["label_zh"]),
            kind=str(data["kind"]),
            present=bool(data["present"]),
            cite=tuple(data.get("cite") or ()),
        )


@dataclass(frozen=True)
class FormalCheck:
    """The checklist with what is present and what is missing."""

    items: tuple[ChecklistItem, ...]

    @property
    def missing(self) -> list[ChecklistItem]:
        """What the applicant has to supply."""
        return [i for i in self.items if not i.present]

    @property
    def complete(self) -> bool:
        """Nothing missing."""
        return not self.missing

    @property
    def cite(self) -> list[str]:
        """Every article the checklist rests on, sorted."""
        return sorted({c for i in self.items for c in i.cite})

    def missing_labels(self) -> list[str]:
        """The missing items as a clerk reads them."""
        verbs = {"document": "缺少", "field": "未填写", "fact": "请说明"}
        return [f"{verbs[i.kind]}{i.label_zh}" if i.kind in verbs else i.label_zh for i in self.missing]

    def with_reviewer_items(self, notes: Iterable[str]) -> FormalCheck:
        """The checklist plus problems the reviewer found by reading (wrong, not missing)."""
        extra = tuple(
            ChecklistItem(code=f"reviewer_{n}", label_zh=text, kind="reviewer", present=False, cite=())
            for n, text in enumerate((t.strip() for t in notes if t.strip()), start=1)
        )
        return FormalCheck(items=self.items + extra)


def _documents(
    required: list[str],
    alternatives: list[list[str]],
    have: frozenset[str],
    cite: list[str],
    alt_cite: list[str],
) -> list[ChecklistItem]:
    items = [
        ChecklistItem(
            code=doc, label_zh=document_label(doc), kind="document", present=doc in have, cite=tuple(cite)
        )
        for doc in required
    ]
    for group in alternatives:
        label = "或".join(document_label(d) for d in group) + "（任选其一）"
        items.append(
            ChecklistItem(
                code="|".join(group),
                label_zh=label,
                kind="document",
                present=any(d in have for d in group),
                cite=tuple(alt_cite),
            )
        )
    return items


def plan_checklist(pack: Pack, facts: Mapping[str, Any], declaration: DeclarationSnapshot) -> FormalCheck:
    """What the plan review's formal check requires of this declaration, and whether it is there."""
    process = review_process(pack, facts)
    docs = process["plan_documents"]
    items = _documents(list(docs.value or []), [], declaration.document_types(), docs.cite, [])
    items += _needs([docs])
    for field in process["plan_fields"]:
        if field.get("applies") is False:
            continue
        items.append(
            ChecklistItem(
                code=field["code"],
                label_zh=field["label_zh"],
                kind="field",
                present=declaration.has_field(field["code"]),
                cite=tuple(field["cite"]),
            )
        )
    return FormalCheck(items=tuple(items))


def approval_checklist(pack: Pack, facts: Mapping[str, Any], have: frozenset[str]) -> FormalCheck:
    """The documents the approval application needs for these facts (required + one of each group)."""
    reqs = evaluate(pack, facts)
    required = reqs["required_documents"]
    alternatives = reqs["alternative_documents"]
    items = _documents(
        list(required.value or []), list(alternatives.value or []), have, required.cite, alternatives.cite
    )
    items += _needs([required, alternatives])
    return FormalCheck(items=tuple(items))
