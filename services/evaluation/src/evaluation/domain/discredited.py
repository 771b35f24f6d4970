"""The discredited list (失信主体名单, lhasa §22): third parties and experts that may not take part
while their listing runs. Review's expert draws and procurement's checks refuse listed subjects."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from govkit import credit_code
from govkit.errors import AppError, ErrorKind


class SubjectKind(StrEnum):
    """Who can be listed."""

    SUPPLIER = "supplier"
    SUPERVISOR = "supervisor"
    EXPERT = "expert"
    THIRD_PARTY = "third_party"


class Scope(StrEnum):
    """A tenant's own list, or the platform's list that every tenant applies."""

    TENANT = "tenant"
    PLATFORM = "platform"


KIND_ZH = {
    SubjectKind.SUPPLIER: "供应商",
    SubjectKind.SUPERVISOR: "监理单位",
    SubjectKind.EXPERT: "评审专家",
    SubjectKind.THIRD_PARTY: "第三方机构",
}


@dataclass(frozen=True)
class DiscreditedEntry:
    """One listing: who, why, for how long, under which articles; removal ends it early."""

    id: str
    tenant_id: str
    scope: Scope
    subject_kind: SubjectKind
    credit_code: str
    expert_id: str
    name: str
    grounds: str
    period_from: date
    period_until: date | None
    cite: tuple[str, ...]
    listed_by: str
    listed_at: datetime
    removed_at: datetime | None = None
    removed_by: str | None = None
    removal_reason: str = ""
    version: int = 1

    @property
    def subject_key(self) -> str:
        """What downstream services match on: the credit code, or the expert id for experts."""
        return self.expert_id if self.subject_kind is SubjectKind.EXPERT else self.credit_code

    def active_on(self, day: date) -> bool:
        """Listed on that day: not removed, and the day inside the period."""
        if self.removed_at is not None:
            return False
        if day < self.period_from:
            return False
        return self.period_until is None or day <= self.period_until


def _invalid(code: str, message: str, **details: object) -> AppError:
    return AppError(code=code, message=message, kind=ErrorKind.INVALID, details=dict(details))


def check_new_entry(entry: DiscreditedEntry) -> None:
    """The subject is identified (credit code for organisations, expert id for experts), the grounds
    are given and the period is not inverted."""
    if entry.subject_kind is SubjectKind.EXPERT:
        if not entry.expert_id:
            raise _invalid("EXPERT_ID_REQUIRED", "列入失信名单的专家须填写专家编号。")
    elif not credit_code.is_valid(entry.credit_code):
        raise _invalid(
            "CREDIT_CODE_INVALID", "统一社会信用代码格式或校验位不正确。", credit_code=entry.credit_code
        )
    if not entry.grounds:
        raise _invalid("GROUNDS_REQUIRED", "请填写列入失信名单的事实和理由。")
    if entry.period_until is not None and entry.period_until < entry.period_from:
        raise _invalid(
            "PERIOD_INVERTED",
            "失信期限的截止日期不能早于起始日期。",
            period_from=entry.period_from.isoformat(),
            period_until=entry.period_until.isoformat(),
        )


def remove(entry: DiscreditedEntry, *, by: str, at: datetime, reason: str) -> DiscreditedEntry:
    """Take the subject off the list (a listing removed once stays removed)."""
    if entry.removed_at is not None:
        raise AppError(
            code="DISCREDITED_ALREADY_REMOVED",
            message="该主体已移出失信名单。",
            kind=ErrorKind.CONFLICT,
            details={"entry_id": entry.id},
        )
    if not reason:
        raise _invalid("REASON_REQUIRED", "请填写移出失信名单的理由。")
    return replace(entry, removed_at=at, removed_by=by, removal_reason=reason)
