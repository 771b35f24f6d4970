"""The expert library (专家库) and the random draw of a review panel with conflict avoidance.

A draw is reproducible: the eligible candidates are listed in a stable order (by expert id) and
``random.Random(seed).sample`` picks from them; the seed, the candidate list and every exclusion
with its reason are recorded, so the audit can replay the draw (:func:`replay`) and get the same
panel. ``random.Random`` seeds a string through SHA-512 (seed version 2), so the result does not
depend on ``PYTHONHASHSEED`` or the process.

Conflicts (DOMAIN.md "Joint review"; lhasa §22 discredited list): an expert of the declaring org,
an expert tied to the project's designer or to a bidder, a discredited expert and an expert not
available are never drawn. A declined expert is replaced by a new draw (its own seed) from the
candidates not yet on the panel.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from govkit.errors import AppError, ErrorKind


class Exclusion(StrEnum):
    """Why an expert was not a candidate."""

    DISCREDITED = "discredited"
    UNAVAILABLE = "unavailable"
    SAME_ORG = "same_org"
    DESIGNER = "designer"
    BIDDER = "bidder"
    SPECIALTY = "specialty"
    ON_PANEL = "on_panel"


EXCLUSION_ZH = {
    Exclusion.DISCREDITED: "列入失信名单",
    Exclusion.UNAVAILABLE: "暂不可参加评审",
    Exclusion.SAME_ORG: "与申报单位同一单位",
    Exclusion.DESIGNER: "与项目设计单位存在关联",
    Exclusion.BIDDER: "与投标单位存在关联",
    Exclusion.SPECIALTY: "专业不符",
    Exclusion.ON_PANEL: "已在本案专家组中",
}


# Reasons that come from the case (not from the expert's state today): kept across draws of a case.
CONFLICTS = frozenset({Exclusion.SAME_ORG.value, Exclusion.DESIGNER.value, Exclusion.BIDDER.value})


class MemberStatus(StrEnum):
    """A drawn expert's answer to the invitation."""

    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"


@dataclass(frozen=True)
class Expert:
    """An expert of a tenant's library."""

    id: str
    tenant_id: str
    name: str
    org: str
    version: int = 1
    specialties: tuple[str, ...] = ()
    contact: str = ""
    available: bool = True
    discredited: bool = False
    discredited_reason: str = ""
    username: str | None = None  # the expert's login, so they see the cases drawn for them
    affiliations: tuple[str, ...] = ()  # other orgs the expert is tied to (former employer, shares ...)
    # The last day of the listing's period (lhasa §22 lists for a period); None: until removed.
    discredited_until: date | None = None

    def as_of(self, day: date) -> Expert:
        """The expert as they stand on ``day``: a listing whose period ended before it is lapsed,
        so the expert reads as not discredited and may be drawn again."""
        if self.discredited and self.discredited_until is not None and self.discredited_until < day:
            return replace(self, discredited=False, discredited_reason="", discredited_until=None)
        return self


@dataclass(frozen=True)
class ConflictContext:
    """What an expert must not be tied to for this case."""

    declaring_org_ids: tuple[str, ...]  # the org id and its name
    designer_orgs: tuple[str, ...] = ()
    bidders: tuple[str, ...] = ()


@dataclass(frozen=True)
class Screening:
    """Candidates in draw order and the experts left out, with reasons."""

    candidates: tuple[str, ...]
    excluded: dict[str, str]


@dataclass(frozen=True)
class PanelMember:
    """An expert on a case's panel."""

    id: str
    tenant_id: str
    case_id: str
    draw_id: str
    expert_id: str
    status: MemberStatus
    version: int = 1
    reviewing_tenant_id: str | None = None
    expert_username: str | None = None
    expert_name: str = ""
    declined_reason: str = ""
    replaced_by_draw_id: str | None = None
    stage: str = "plan"


@dataclass(frozen=True)
class Draw:
    """One recorded draw (the first one of a panel, or a replacement)."""

    id: str
    tenant_id: str
    case_id: str
    stage: str
    seed: str
    size: int
    candidates: tuple[str, ...]
    excluded: dict[str, str]
    drawn: tuple[str, ...]
    drawn_by: str
    drawn_at: datetime
    reviewing_tenant_id: str | None = None
    replaces_member_id: str | None = None
    specialty: str | None = None


def _norm(name: str) -> str:
    """Org names compared without case, width or spacing differences (全角/半角)."""
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


def _tied(expert: Expert, orgs: Iterable[str]) -> bool:
    wanted = {_norm(o) for o in orgs if o and o.strip()}
    if not wanted:
        return False
    mine = {_norm(expert.org), *(_norm(a) for a in expert.affiliations)}
    return bool(wanted & mine)


def screen(
    experts: Iterable[Expert],
    context: ConflictContext,
    *,
    specialty: str | None = None,
    on_panel: Iterable[str] = (),
    conflicts_before: Mapping[str, str] | None = None,
) -> Screening:
    """Who may be drawn, sorted by id (the draw order), and who may not, with the first reason.

    ``conflicts_before``: conflicts found by the case's earlier draws (a bidder named then), kept
    for a replacement draw so that it never brings back an expert the first draw avoided.
    """
    already = set(on_panel)
    before = {k: v for k, v in (conflicts_before or {}).items() if v in CONFLICTS}
    candidates: list[str] = []
    excluded: dict[str, str] = {}
    for expert in sorted(experts, key=lambda e: e.id):
        reason: Exclusion | None = None
        if expert.id in already:
            reason = Exclusion.ON_PANEL
        elif expert.id in before:
            reason = Exclusion(before[expert.id])
        elif expert.discredited:
            reason = Exclusion.DISCREDITED
        elif not expert.available:
            reason = Exclusion.UNAVAILABLE
        elif _tied(expert, context.declaring_org_ids):
            reason = Exclusion.SAME_ORG
        elif _tied(expert, context.designer_orgs):
            reason = Exclusion.DESIGNER
        elif _tied(expert, context.bidders):
            reason = Exclusion.BIDDER
        elif specialty and _norm(specialty) not in {_norm(s) for s in expert.specialties}:
            reason = Exclusion.SPECIALTY
        if reason is None:
            candidates.append(expert.id)
        else:
            excluded[expert.id] = reason.value
    return Screening(candidates=tuple(candidates), excluded=excluded)


def draw(candidates: Sequence[str], size: int, seed: str) -> tuple[str, ...]:
    """``size`` experts from ``candidates``, reproducibly from ``seed``.

    The candidates are sorted first, so the same set gives the same panel whatever order it came in.
    """
    if size < 1:
        raise AppError(code="PANEL_SIZE_INVALID", message="抽取专家人数至少为1人。", kind=ErrorKind.INVALID)
    ordered = sorted(set(candidates))
    if len(ordered) < size:
        raise AppError(
            code="EXPERT_POOL_TOO_SMALL",
            message=f"符合回避条件的专家仅{len(ordered)}人，不足抽取{size}人。",
            kind=ErrorKind.PRECONDITION,
            details={"eligible": len(ordered), "requested": size},
        )
    return tuple(random.Random(seed).sample(ordered, size))


def replay(recorded: Draw) -> bool:
    """Whether the recorded seed and candidates give the recorded panel again."""
    return draw(recorded.candidates, recorded.size, recorded.seed) == recorded.drawn


def decline(member: PanelMember, reason: str) -> PanelMember:
    """The expert declines (or cannot attend); a replacement draw follows."""
    if member.status is MemberStatus.DECLINED:
        raise AppError(
            code="EXPERT_ALREADY_DECLINED",
            message="该专家已谢绝参加评审。",
            kind=ErrorKind.PRECONDITION,
            details={"member_id": member.id},
        )
    return replace(member, status=MemberStatus.DECLINED, declined_reason=reason.strip())


def accept(member: PanelMember) -> PanelMember:
    """The expert confirms they will review."""
    if member.status is MemberStatus.DECLINED:
        raise AppError(
            code="EXPERT_ALREADY_DECLINED",
            message="该专家已谢绝参加评审，不能再确认。",
            kind=ErrorKind.PRECONDITION,
            details={"member_id": member.id},
        )
    return replace(member, status=MemberStatus.ACCEPTED)
