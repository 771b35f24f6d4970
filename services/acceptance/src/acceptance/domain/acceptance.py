"""An acceptance (验收): the initial (初验) or the final one (竣工验收), its panel, checklist and result.

* Organizer: the pack's ``acceptance_organizer`` for the project's facts (qiaokou-2022 §28(3),
  wuxing-2023 §20, shuangyashan-2024 §28 ...): ``unit`` (self-accepted), ``unit_with_bureau_*``,
  ``department_with_bureau`` or ``bureau``. The final acceptance of a project the unit does not
  accept by itself is judged by a panel drawn from the expert library (wuxing-2023 §5).
* Checklist: the pack's ``acceptance_checklist`` items that apply to the facts (wuxing-2023 §21);
  every item is answered, the result is passed only when every item passed.
* Failed: rectification items (整改) each with an owner and a due date no later than the pack's
  ``rectification_months`` (wuxing-2023 §20: 3 months); a new acceptance follows once they are
  done (shuangyashan-2024 §30).
* Self-accepted projects file their result within ``acceptance_filing_workdays`` working days
  (qiaokou-2022 §28(3): 3); a later filing is kept and marked late.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from govkit.auth import Principal
from govkit.errors import AppError, ErrorKind, forbidden, invalid_field


class Stage(StrEnum):
    """Which acceptance."""

    INITIAL = "initial"
    FINAL = "final"


STAGE_ZH = {Stage.INITIAL: "初步验收", Stage.FINAL: "竣工验收"}


class AcceptanceStatus(StrEnum):
    """Where one acceptance stands."""

    APPLIED = "applied"
    PASSED = "passed"
    FAILED = "failed"


RESULT_ZH = {AcceptanceStatus.PASSED: "验收通过", AcceptanceStatus.FAILED: "验收不通过"}

SELF_ACCEPTED = "unit"
BUREAU_ROLES = frozenset({"bureau_reviewer", "bureau_head", "tech_center"})
UNIT_ROLES = frozenset({"applicant", "unit_head"})
READ_ALL_ROLES = BUREAU_ROLES | {"auditor", "tenant_admin", "evaluator", "finance"}

ORGANIZER_ZH = {
    "unit": "建设单位自行组织验收",
    "unit_with_bureau_supervision": "建设单位组织验收，数据主管部门监督",
    "unit_with_bureau_spot_check": "建设单位组织验收，数据主管部门抽查参与",
    "bureau": "数据主管部门组织验收",
    "department_with_bureau": "主管部门组织验收，数据主管部门参与",
}


@dataclass(frozen=True)
class ChecklistItem:
    """One condition of the acceptance and, once decided, the panel's finding."""

    code: str
    label_zh: str
    cite: tuple[str, ...]
    passed: bool | None = None
    note: str = ""


@dataclass(frozen=True)
class PanelExpert:
    """An expert drawn for the acceptance (from review's expert library)."""

    expert_id: str
    name: str
    org: str


@dataclass(frozen=True)
class Panel:
    """The recorded draw: seed, candidates and exclusions (for replay), and the experts drawn."""

    seed: str
    candidates: tuple[str, ...]
    excluded: dict[str, str]
    experts: tuple[PanelExpert, ...]
    drawn_by: str
    drawn_at: datetime
    draw_reference: str = ""  # review's audit reference of the draw


@dataclass(frozen=True)
class Rectification:
    """A rectification item of a failed acceptance."""

    id: str
    tenant_id: str
    project_id: str
    acceptance_id: str
    description: str
    owner: str
    due_on: date
    cite: tuple[str, ...] = ()
    done_on: date | None = None
    done_by: str | None = None
    note: str = ""
    version: int = 1


@dataclass(frozen=True)
class RectificationDraft:
    """What the panel asks to be rectified; ``due_on`` defaults to the pack's limit."""

    description: str
    owner: str
    due_on: date | None = None


@dataclass(frozen=True)
class Acceptance:
    """One acceptance of a project."""

    id: str
    tenant_id: str
    project_id: str
    stage: Stage
    round: int
    status: AcceptanceStatus
    organizer: str
    organizer_cite: tuple[str, ...]
    applied_on: date
    applied_by: str
    checklist: tuple[ChecklistItem, ...]
    version: int = 1
    panel: Panel | None = None
    decided_on: date | None = None
    decided_by: str | None = None
    opinion: str = ""
    report_sha256: str | None = None
    report_key: str | None = None
    filing_due_on: date | None = None
    filing_cite: tuple[str, ...] = ()
    filed_on: date | None = None
    filed_late: bool = False
    cite: tuple[str, ...] = ()

    @property
    def self_accepted(self) -> bool:
        """The unit accepts its own project (no bureau organizer, no panel needed)."""
        return self.organizer == SELF_ACCEPTED

    @property
    def needs_panel(self) -> bool:
        """The final acceptance of a project not self-accepted is judged by an expert panel."""
        return self.stage is Stage.FINAL and not self.self_accepted


def checklist_from_pack(items: Sequence[Mapping[str, Any]]) -> tuple[ChecklistItem, ...]:
    """The pack's checklist rows (govkit.policy.acceptance_checklist) that do not clearly not apply."""
    return tuple(
        ChecklistItem(code=str(i["code"]), label_zh=str(i["label_zh"]), cite=tuple(i["cite"]))
        for i in items
        if i.get("applies") is not False
    )


def ensure_can_read(principal: Principal, *, org_id: str) -> bool:
    """Bureau, auditors and evaluators see the tenant's projects; a unit sees its own."""
    if principal.has_role(*READ_ALL_ROLES):
        return True
    return principal.has_role(*UNIT_ROLES) and principal.org == org_id


def ensure_unit(principal: Principal, *, org_id: str) -> None:
    """The project's own unit (applicant or unit head of its org)."""
    if not (principal.has_role(*UNIT_ROLES) and principal.org == org_id):
        raise forbidden("acceptance.unit")


def ensure_bureau(principal: Principal) -> None:
    """The data bureau of the tenant."""
    if not principal.has_role(*BUREAU_ROLES):
        raise forbidden("acceptance.bureau")


def ensure_may_decide(principal: Principal, acceptance: Acceptance, *, org_id: str) -> None:
    """Who records the result: the bureau where it organizes; otherwise the unit's head (the
    bureau supervising or joining may record it too)."""
    if principal.has_role(*BUREAU_ROLES):
        return
    if acceptance.organizer != "bureau" and principal.has_role("unit_head") and principal.org == org_id:
        return
    raise forbidden("acceptance.decide")


def attach_panel(acceptance: Acceptance, panel: Panel) -> Acceptance:
    """The drawn panel, once per acceptance while it is open."""
    if acceptance.status is not AcceptanceStatus.APPLIED:
        raise AppError(code="ACCEPTANCE_DECIDED", message="该验收已有结论。", kind=ErrorKind.PRECONDITION)
    if acceptance.panel is not None:
        raise AppError(
            code="PANEL_ALREADY_DRAWN", message="本次验收已抽取专家组。", kind=ErrorKind.PRECONDITION
        )
    return replace(acceptance, panel=panel)


@dataclass(frozen=True)
class Decision:
    """The result of :func:`decide`: the decided acceptance and the rectification drafts with dates."""

    acceptance: Acceptance
    passed: bool
    rectifications: tuple[RectificationDraft, ...]


def decide(
    acceptance: Acceptance,
    *,
    findings: Mapping[str, tuple[bool, str]],
    opinion: str,
    decided_on: date,
    decided_by: str,
    rectifications: Sequence[RectificationDraft],
    rectify_by: date | None,
    rectify_cite: Sequence[str],
) -> Decision:
    """Record the finding of every checklist item; passed only when all passed.

    A failed acceptance needs at least one rectification item; each is due by the pack's limit
    (``rectify_by``) unless the panel sets an earlier day. Where the pack sets no limit the panel
    gives every item its date.
    """
    if acceptance.status is not AcceptanceStatus.APPLIED:
        raise AppError(code="ACCEPTANCE_DECIDED", message="该验收已有结论。", kind=ErrorKind.PRECONDITION)
    if acceptance.needs_panel and acceptance.panel is None:
        raise AppError(
            code="PANEL_REQUIRED",
            message="竣工验收须先从专家库抽取验收专家组。",
            kind=ErrorKind.PRECONDITION,
            cite=list(acceptance.organizer_cite),
        )
    if decided_on < acceptance.applied_on:
        raise invalid_field("decided_on", "验收日期不能早于申请日期")
    codes = [i.code for i in acceptance.checklist]
    unknown = sorted(set(findings) - set(codes))
    missing = [c for c in codes if c not in findings]
    if unknown or missing:
        raise AppError(
            code="CHECKLIST_INCOMPLETE",
            message="请对验收清单的每一项给出结论（不得遗漏或增加）。",
            kind=ErrorKind.INVALID,
            details={"missing": missing, "unknown": unknown},
            cite=sorted({c for i in acceptance.checklist for c in i.cite}),
        )
    checklist = tuple(
        replace(i, passed=findings[i.code][0], note=findings[i.code][1].strip()) for i in acceptance.checklist
    )
    passed = all(i.passed for i in checklist)
    drafts = _dated(
        rectifications, passed=passed, decided_on=decided_on, rectify_by=rectify_by, cite=rectify_cite
    )
    decided = replace(
        acceptance,
        status=AcceptanceStatus.PASSED if passed else AcceptanceStatus.FAILED,
        checklist=checklist,
        decided_on=decided_on,
        decided_by=decided_by,
        opinion=opinion.strip(),
    )
    return Decision(decided, passed, drafts)


def _dated(
    drafts: Sequence[RectificationDraft],
    *,
    passed: bool,
    decided_on: date,
    rectify_by: date | None,
    cite: Sequence[str],
) -> tuple[RectificationDraft, ...]:
    if passed:
        if drafts:
            raise invalid_field("rectifications", "验收通过时不应提出整改事项")
        return ()
    if not drafts:
        raise AppError(
            code="RECTIFICATION_REQUIRED",
            message="验收不通过时须列明整改事项、责任单位和整改期限。",
            kind=ErrorKind.INVALID,
            cite=list(cite),
        )
    out = []
    for n, d in enumerate(drafts):
        if not d.description.strip() or not d.owner.strip():
            raise invalid_field(f"rectifications[{n}]", "请填写整改事项和责任单位")
        due = d.due_on or rectify_by
        if due is None:
            raise invalid_field(f"rectifications[{n}].due_on", "本地区管理办法未规定整改期限，请填写整改期限")
        if due <= decided_on:
            raise invalid_field(f"rectifications[{n}].due_on", "整改期限应晚于验收日期")
        if rectify_by is not None and due > rectify_by:
            raise AppError(
                code="RECTIFICATION_TOO_LATE",
                message=f"整改期限不得晚于{rectify_by.isoformat()}。",
                kind=ErrorKind.PRECONDITION,
                details={"index": n, "rectify_by": rectify_by.isoformat()},
                cite=list(cite),
            )
        out.append(RectificationDraft(d.description.strip(), d.owner.strip(), due))
    return tuple(out)


def complete_rectification(item: Rectification, *, on: date, by: str, note: str) -> Rectification:
    """The unit reports an item rectified."""
    if item.done_on is not None:
        raise AppError(code="RECTIFICATION_DONE", message="该整改事项已完成。", kind=ErrorKind.PRECONDITION)
    if not note.strip():
        raise invalid_field("note", "请说明整改完成情况")
    return replace(item, done_on=on, done_by=by, note=note.strip())


def file_result(acceptance: Acceptance, *, on: date) -> Acceptance:
    """A self-accepted project's result filed with the bureau (late filings are kept, marked late)."""
    if not acceptance.self_accepted or acceptance.status is AcceptanceStatus.APPLIED:
        raise AppError(
            code="FILING_NOT_APPLICABLE",
            message="只有建设单位自行组织且已有结论的验收需要报备。",
            kind=ErrorKind.PRECONDITION,
        )
    if acceptance.filed_on is not None:
        raise AppError(code="ALREADY_FILED", message="验收结果已报备。", kind=ErrorKind.PRECONDITION)
    late = acceptance.filing_due_on is not None and on > acceptance.filing_due_on
    return replace(acceptance, filed_on=on, filed_late=late)
