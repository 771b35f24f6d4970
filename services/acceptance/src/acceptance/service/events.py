"""acceptance's integration events (proto/govproj/acceptance/events/v1), written to the outbox by
the use cases. Subjects: ``govproj.acceptance.v1.<aggregate>.<event>``."""

from __future__ import annotations

from collections.abc import Sequence

from acceptance.domain.acceptance import Acceptance, ChecklistItem, Rectification
from acceptance.domain.project import AcceptanceProject
from govkit.events import Envelope, new_event
from govproj.acceptance.events.v1 import events_pb2
from govproj.common.v1 import common_pb2

TRIAL_STARTED = "govproj.acceptance.v1.trial.started"
ACCEPTANCE_PASSED = "govproj.acceptance.v1.acceptance.passed"
ACCEPTANCE_FAILED = "govproj.acceptance.v1.acceptance.failed"


def _cite(refs: Sequence[str]) -> list[common_pb2.Citation]:
    return [common_pb2.Citation(ref=r) for r in refs]


def _checklist(items: Sequence[ChecklistItem]) -> list[events_pb2.ChecklistResult]:
    return [
        events_pb2.ChecklistResult(
            code=i.code, label_zh=i.label_zh, passed=bool(i.passed), note=i.note, citations=_cite(i.cite)
        )
        for i in items
    ]


def trial_started(project: AcceptanceProject) -> Envelope:
    """``trial.started``."""
    return new_event(
        event_type=TRIAL_STARTED,
        tenant=project.tenant_id,
        payload=events_pb2.TrialStarted(
            trial_id=project.id,
            declaration_id=project.declaration_id,
            tenant_id=project.tenant_id,
            project_code=project.project_code,
            contract_ids=list(project.contract_ids),
            started_on=project.trial_started_on.isoformat() if project.trial_started_on else "",
            min_months=project.trial_min_months or 0,
            ends_on=project.trial_ends_on.isoformat() if project.trial_ends_on else "",
            citations=_cite(project.trial_cite),
        ),
    )


def acceptance_passed(project: AcceptanceProject, acceptance: Acceptance) -> Envelope:
    """``acceptance.passed``: evaluation and procurement consume it."""
    return new_event(
        event_type=ACCEPTANCE_PASSED,
        tenant=project.tenant_id,
        payload=events_pb2.AcceptancePassed(
            acceptance_id=acceptance.id,
            declaration_id=project.declaration_id,
            tenant_id=project.tenant_id,
            project_code=project.project_code,
            contract_ids=list(project.contract_ids),
            accepted_on=acceptance.decided_on.isoformat() if acceptance.decided_on else "",
            stage=acceptance.stage.value,
            result=acceptance.status.value,
            organizer=acceptance.organizer,
            round=acceptance.round,
            report_sha256=acceptance.report_sha256 or "",
            checklist=_checklist(acceptance.checklist),
            citations=_cite(acceptance.cite),
        ),
    )


def acceptance_failed(
    project: AcceptanceProject, acceptance: Acceptance, items: Sequence[Rectification]
) -> Envelope:
    """``acceptance.failed`` with the rectification items."""
    return new_event(
        event_type=ACCEPTANCE_FAILED,
        tenant=project.tenant_id,
        payload=events_pb2.AcceptanceFailed(
            acceptance_id=acceptance.id,
            declaration_id=project.declaration_id,
            tenant_id=project.tenant_id,
            project_code=project.project_code,
            contract_ids=list(project.contract_ids),
            decided_on=acceptance.decided_on.isoformat() if acceptance.decided_on else "",
            stage=acceptance.stage.value,
            result=acceptance.status.value,
            organizer=acceptance.organizer,
            round=acceptance.round,
            report_sha256=acceptance.report_sha256 or "",
            checklist=_checklist(acceptance.checklist),
            rectifications=[
                events_pb2.RectificationItem(
                    item_id=r.id, description=r.description, owner=r.owner, due_on=r.due_on.isoformat()
                )
                for r in items
            ],
            rectify_by=max(r.due_on for r in items).isoformat() if items else "",
            citations=_cite(acceptance.cite),
        ),
    )
