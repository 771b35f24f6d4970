"""evaluation's integration events (proto/govproj/evaluation/events/v1), written to the outbox by
the use cases. Subjects: ``govproj.evaluation.v1.<aggregate>.<event>``."""

from __future__ import annotations

from collections.abc import Sequence

from evaluation.domain.closure import ClosureRequest
from evaluation.domain.discredited import DiscreditedEntry, Scope
from evaluation.domain.evaluation import Evaluation
from evaluation.domain.om_funding import OmRequest
from evaluation.domain.rectification import RectificationOrder
from govkit.events import Envelope, new_event
from govproj.common.v1 import common_pb2
from govproj.evaluation.events.v1 import events_pb2

EVALUATION_COMPLETED = "govproj.evaluation.v1.evaluation.completed"
OM_FUNDING_DECIDED = "govproj.evaluation.v1.om_funding.decided"
RECTIFICATION_ESCALATED = "govproj.evaluation.v1.rectification.escalated"
DISCREDITED_CHANGED = "govproj.evaluation.v1.discredited.changed"
CLOSURE_DECIDED = "govproj.evaluation.v1.closure.decided"
# Platform-scope listings travel under this tenant: they name no tenant of their own.
PLATFORM_TENANT = "platform"


def _cite(refs: Sequence[str]) -> list[common_pb2.Citation]:
    return [common_pb2.Citation(ref=r) for r in refs]


def evaluation_completed(e: Evaluation) -> Envelope:
    """``evaluation.completed`` with every indicator's score."""
    return new_event(
        event_type=EVALUATION_COMPLETED,
        tenant=e.tenant_id,
        payload=events_pb2.EvaluationCompleted(
            evaluation_id=e.id,
            declaration_id=e.declaration_id,
            tenant_id=e.tenant_id,
            project_code=e.project_code,
            org_id=e.org_id,
            kind=e.kind.value,
            evaluator=e.evaluator,
            indicators=[
                events_pb2.IndicatorScore(
                    code=s.code,
                    label_zh=s.label_zh,
                    weight=str(s.weight),
                    target=s.target,
                    actual=s.actual,
                    score=str(s.score),
                    evidence_sha256=list(s.evidence),
                )
                for s in e.indicators
            ],
            total_score=str(e.total_score) if e.total_score is not None else "",
            grade=e.grade,
            completed_on=e.completed_on.isoformat() if e.completed_on else "",
            report_sha256=e.report_sha256,
            citations=_cite(e.cite),
        ),
    )


def om_funding_decided(r: OmRequest) -> Envelope:
    """``om_funding.decided``: granted, or refused with every ground and its article."""
    return new_event(
        event_type=OM_FUNDING_DECIDED,
        tenant=r.tenant_id,
        payload=events_pb2.OmFundingDecided(
            request_id=r.id,
            declaration_id=r.declaration_id,
            tenant_id=r.tenant_id,
            project_code=r.project_code,
            org_id=r.org_id,
            budget_year=r.budget_year,
            amount=common_pb2.Money(amount=str(r.amount)),
            outcome=r.outcome.value,
            refusal_codes=[x.code for x in r.refusals],
            reason="；".join(x.message for x in r.refusals),
            decided_on=r.decided_on.isoformat(),
            evaluation_id=r.evaluation_id or "",
            citations=_cite(r.cite),
        ),
    )


def rectification_escalated(o: RectificationOrder) -> Envelope:
    """``rectification.escalated``: procurement suspends the project on it."""
    return new_event(
        event_type=RECTIFICATION_ESCALATED,
        tenant=o.tenant_id,
        payload=events_pb2.RectificationEscalated(
            order_id=o.id,
            declaration_id=o.declaration_id,
            tenant_id=o.tenant_id,
            project_code=o.project_code,
            org_id=o.org_id,
            stage=o.stage,
            items=list(o.items),
            due_on=o.due_on.isoformat(),
            escalated_on=o.escalated_on.isoformat() if o.escalated_on else "",
            grounds=o.grounds,
            citations=_cite(sorted({*o.cite, *o.escalation_cite})),
        ),
    )


def discredited_changed(e: DiscreditedEntry, *, change: str, at: str) -> Envelope:
    """``discredited.changed``: a subject added to or removed from a list."""
    tenant = PLATFORM_TENANT if e.scope is Scope.PLATFORM else e.tenant_id
    return new_event(
        event_type=DISCREDITED_CHANGED,
        tenant=tenant,
        payload=events_pb2.DiscreditedChanged(
            entry_id=e.id,
            scope=e.scope.value,
            tenant_id="" if e.scope is Scope.PLATFORM else e.tenant_id,
            subject_kind=e.subject_kind.value,
            credit_code=e.credit_code,
            expert_id=e.expert_id,
            name=e.name,
            change=change,
            grounds=e.grounds if change == "added" else e.removal_reason,
            period_from=e.period_from.isoformat(),
            period_until=e.period_until.isoformat() if e.period_until else "",
            changed_at=at,
            citations=_cite(e.cite),
        ),
    )


def closure_decided(c: ClosureRequest) -> Envelope:
    """``closure.decided``."""
    return new_event(
        event_type=CLOSURE_DECIDED,
        tenant=c.tenant_id,
        payload=events_pb2.ClosureDecided(
            request_id=c.id,
            declaration_id=c.declaration_id,
            tenant_id=c.tenant_id,
            project_code=c.project_code,
            org_id=c.org_id,
            action=c.action.value,
            outcome=c.status.value,
            reason=c.decision_reason or c.reason,
            decided_on=c.decided_on.isoformat() if c.decided_on else "",
            citations=_cite(c.cite),
        ),
    )
