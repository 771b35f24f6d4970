"""evaluation's pure rules: scoring and grades, the self-evaluation window, O&M grounds, the
discredited list, rectification escalation and the portfolio fold's independence of stream order."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from evaluation.domain import discredited, om_funding, portfolio, rectification, scoring
from evaluation.domain.evaluation import WindowState, add_months, window, window_state
from govkit import credit_code
from govkit.errors import AppError
from govproj.acceptance.events.v1 import events_pb2 as acceptance_pb2
from govproj.common.v1 import common_pb2
from govproj.intake.events.v1 import events_pb2 as intake_pb2
from govproj.procurement.events.v1 import events_pb2 as procurement_pb2
from govproj.review.events.v1 import events_pb2 as review_pb2

BANDS = scoring.parse_grade_bands("优:90,良:80,中:60,差:0")


def test_pack_indicators_weigh_equally_and_the_total_is_weighted() -> None:
    items = [{"code": c, "label_zh": c, "cite": ["wuxing-2023 §28"]} for c in ("a", "b", "c", "d", "e")]
    indicators = scoring.indicators_of(items, {})
    assert [i.weight for i in indicators] == [Decimal("0.2000")] * 5
    entered = [
        scoring.ScoreInput(code=c, actual="x", score=Decimal(s))
        for c, s in zip("abcde", (100, 90, 80, 70, 60), strict=True)
    ]
    scored = scoring.score(indicators, entered, default_target="目标")
    assert scoring.weighted_total(scored) == Decimal("80.00")
    assert scoring.grade(Decimal("80.00"), BANDS) == "良"
    assert scoring.grade(Decimal("59.99"), BANDS) == "差"
    assert scored[0].target == "目标"


def test_weights_from_the_pack_are_normalised() -> None:
    items = [{"code": "a", "label_zh": "A"}, {"code": "b", "label_zh": "B"}]
    indicators = scoring.indicators_of(items, {"a": 3, "b": 1})
    assert [i.weight for i in indicators] == [Decimal("0.7500"), Decimal("0.2500")]


def test_scores_must_cover_the_pack_indicators_once_each_within_0_to_100() -> None:
    indicators = scoring.indicators_of([{"code": "a", "label_zh": "A"}, {"code": "b", "label_zh": "B"}], {})
    with pytest.raises(AppError) as missing:
        scoring.score(
            indicators, [scoring.ScoreInput(code="a", actual="x", score=Decimal(1))], default_target=""
        )
    assert missing.value.code == "INDICATORS_MISMATCH" and missing.value.details["missing"] == ["b"]
    with pytest.raises(AppError) as high:
        scoring.score(
            indicators, [scoring.ScoreInput(code="a", actual="x", score=Decimal(101))], default_target=""
        )
    assert high.value.code == "SCORE_OUT_OF_RANGE"
    with pytest.raises(AppError) as twice:
        scoring.score(
            [],
            [scoring.ScoreInput(code="a", label_zh="A", actual="x", score=Decimal(1))] * 2,
            default_target="",
        )
    assert twice.value.code == "INDICATOR_DUPLICATE"


def test_grade_bands_setting_is_checked() -> None:
    with pytest.raises(ValueError, match="start at 0"):
        scoring.parse_grade_bands("优:90,良:80")


def test_the_window_opens_and_closes_on_the_pack_months() -> None:
    win = window(date(2024, 2, 29), [12, 24], ("lhasa §22",))
    assert win is not None and (win.opens_on, win.closes_on) == (date(2025, 2, 28), date(2026, 2, 28))
    assert window(date(2024, 1, 1), None, ()) is None
    assert window_state(win, today=date(2025, 1, 1), self_evaluated=False) is WindowState.UPCOMING
    assert window_state(win, today=date(2025, 3, 1), self_evaluated=False) is WindowState.OPEN
    assert window_state(win, today=date(2026, 3, 1), self_evaluated=False) is WindowState.MISSED
    assert window_state(win, today=date(2026, 3, 1), self_evaluated=True) is WindowState.DONE
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)


def _grounds(**overrides: object) -> om_funding.Grounds:
    fields: dict[str, object] = {
        "known": True,
        "accepted_on": date(2024, 1, 1),
        "blocked_years": 3,
        "blocked_cite": ("lhasa §20",),
        "unaccepted_cite": ("lhasa §27",),
        "compliance_cite": (),
        "sharing_only": False,
        "unregistered_cite": (),
        "deadline_month_day": (8, 31),
        "deadline_cite": ("lhasa §27",),
        "report_required": True,
        "evaluation_completed": True,
    }
    fields.update(overrides)
    return om_funding.Grounds(**fields)  # type: ignore[arg-type]


OK = om_funding.Declared(
    data_shared=True, in_resource_catalog=True, security_compliant=True, crypto_compliant=True
)


def test_om_within_the_free_years_is_refused_the_day_before_and_allowed_on_the_day() -> None:
    ends = date(2028, 12, 31)
    before = om_funding.decide(_grounds(), OK, free_maintenance_ends_on=ends, today=date(2026, 12, 31))
    assert [r.code for r in before] == ["OM_WITHIN_FREE_YEARS"]
    on = om_funding.decide(_grounds(), OK, free_maintenance_ends_on=ends, today=date(2027, 1, 1))
    assert on == []


def test_om_deadline_is_31_august_of_the_year_before_free_maintenance_ends() -> None:
    assert om_funding.deadline(date(2029, 3, 31), (8, 31)) == date(2028, 8, 31)
    late = om_funding.decide(
        _grounds(), OK, free_maintenance_ends_on=date(2028, 3, 31), today=date(2027, 9, 1)
    )
    assert [r.code for r in late] == ["OM_REQUEST_LATE"]
    assert om_funding.deadline(date(2029, 3, 31), None) is None


def test_heze_sharing_only_ground_ignores_catalog_and_security() -> None:
    declared = om_funding.Declared(
        data_shared=False, in_resource_catalog=False, security_compliant=False, crypto_compliant=False
    )
    grounds = _grounds(
        compliance_cite=("heze-2021 §30",),
        sharing_only=True,
        blocked_years=None,
        deadline_month_day=None,
        report_required=False,
    )
    refusals = om_funding.decide(
        grounds, declared, free_maintenance_ends_on=date(2030, 1, 1), today=date(2026, 1, 1)
    )
    assert [(r.code, r.cite) for r in refusals] == [("OM_DATA_NOT_SHARED", ("heze-2021 §30",))]


def test_credit_codes_are_checked_by_their_check_character() -> None:
    assert credit_code.is_valid("91350100M000100Y43")
    assert not credit_code.is_valid("91350100M000100Y44")
    assert not credit_code.is_valid("short")


def _entry(**overrides: object) -> discredited.DiscreditedEntry:
    fields: dict[str, object] = {
        "id": "e1",
        "tenant_id": "t",
        "scope": discredited.Scope.TENANT,
        "subject_kind": discredited.SubjectKind.SUPPLIER,
        "credit_code": "91350100M000100Y43",
        "expert_id": "",
        "name": "某公司",
        "grounds": "虚假材料",
        "period_from": date(2025, 1, 1),
        "period_until": date(2025, 12, 31),
        "cite": ("lhasa §22",),
        "listed_by": "u",
        "listed_at": datetime(2025, 1, 1, tzinfo=UTC),
    }
    fields.update(overrides)
    return discredited.DiscreditedEntry(**fields)  # type: ignore[arg-type]


def test_a_listing_is_active_inside_its_period_until_removed() -> None:
    entry = _entry()
    discredited.check_new_entry(entry)
    assert entry.active_on(date(2025, 6, 1)) and not entry.active_on(date(2026, 1, 1))
    removed = discredited.remove(entry, by="u", at=datetime(2025, 6, 1, tzinfo=UTC), reason="复核")
    assert not removed.active_on(date(2025, 6, 2))
    with pytest.raises(AppError):
        discredited.remove(removed, by="u", at=datetime(2025, 6, 1, tzinfo=UTC), reason="again")
    with pytest.raises(AppError) as inverted:
        discredited.check_new_entry(_entry(period_until=date(2024, 1, 1)))
    assert inverted.value.code == "PERIOD_INVERTED"
    with pytest.raises(AppError) as expert:
        discredited.check_new_entry(_entry(subject_kind=discredited.SubjectKind.EXPERT, credit_code=""))
    assert expert.value.code == "EXPERT_ID_REQUIRED"


def test_an_order_escalates_the_day_after_its_due_date_once() -> None:
    order = rectification.RectificationOrder(
        id="o",
        tenant_id="t",
        declaration_id="d",
        project_code="p",
        org_id="u",
        stage="construction",
        owner="x",
        items=("a",),
        grounds="g",
        due_on=date(2025, 3, 14),
        status=rectification.OrderStatus.OPEN,
        cite=(),
        issued_by="b",
        issued_at=datetime(2025, 3, 1, tzinfo=UTC),
    )
    assert rectification.escalate(order, today=date(2025, 3, 14), cite=("qiaokou-2022 §37",)) is None
    escalated = rectification.escalate(order, today=date(2025, 3, 15), cite=("qiaokou-2022 §37",))
    assert escalated is not None and escalated.status is rectification.OrderStatus.ESCALATED
    assert rectification.escalate(escalated, today=date(2025, 3, 16), cite=()) is None


def _messages(tenant: str) -> list[tuple[str, object]]:
    did = str(uuid.uuid4())
    money = common_pb2.Money
    return [
        (
            "govproj.intake.v1.declaration.submitted",
            intake_pb2.DeclarationSubmitted(
                declaration_id=did,
                tenant_id=tenant,
                name="n",
                amount=money(amount="10.00"),
                submitted_at="2025-01-02",
            ),
        ),
        (
            "govproj.review.v1.plan.decided",
            review_pb2.PlanDecided(
                declaration_id=did, outcome="in_plan", level="key", budget=money(amount="9.00")
            ),
        ),
        (
            "govproj.review.v1.approval.granted",
            review_pb2.ApprovalGranted(
                declaration_id=did, approved_amount=money(amount="8.00"), approved_on="2025-03-01"
            ),
        ),
        (
            "govproj.procurement.v1.contract.filed",
            procurement_pb2.ContractFiled(
                declaration_id=did,
                contract_id="c1",
                contract_amount=money(amount="7.00"),
                signed_on="2025-04-01",
            ),
        ),
        (
            "govproj.procurement.v1.payment.recorded",
            procurement_pb2.PaymentRecorded(
                declaration_id=did, contract_id="c1", paid_total=money(amount="3.00")
            ),
        ),
        (
            "govproj.procurement.v1.payment.recorded",
            procurement_pb2.PaymentRecorded(
                declaration_id=did, contract_id="c1", paid_total=money(amount="5.00")
            ),
        ),
        (
            "govproj.acceptance.v1.acceptance.passed",
            acceptance_pb2.AcceptancePassed(declaration_id=did, accepted_on="2025-09-01", stage="final"),
        ),
    ]


def test_the_fold_does_not_depend_on_how_the_streams_interleave() -> None:
    def fold(order: list[tuple[str, object]]) -> dict[str, object]:
        row = None
        t0 = datetime(2025, 1, 1, tzinfo=UTC)
        for i, (subject, message) in enumerate(order):
            handler = portfolio.HANDLERS[subject][1]
            row = portfolio.apply(
                row,
                tenant="t",
                message=message,
                fold=handler,  # type: ignore[arg-type]
                occurred_at=t0 + timedelta(minutes=i if subject.startswith("govproj.intake") else 0),
                window_for=lambda _t, d: (add_months(d, 12), add_months(d, 24)),
            )
        assert row is not None
        d = row.as_dict()
        d.pop("last_event_at")
        return d

    events = _messages("t")
    reference = fold(events)
    assert reference["plan_outcome"] == "in_plan"
    rng = random.Random(7)
    for _ in range(20):
        # Streams keep their own order (payments stay in order); the streams interleave at random.
        by_stream: dict[str, list[tuple[str, object]]] = {}
        for e in events:
            by_stream.setdefault(e[0].split(".")[1], []).append(e)
        mixed: list[tuple[str, object]] = []
        queues = [list(q) for q in by_stream.values()]
        while any(queues):
            q = rng.choice([q for q in queues if q])
            mixed.append(q.pop(0))
        assert fold(mixed) == reference
    row = portfolio.ProjectRow(
        declaration_id="x",
        tenant_id="t",
        contracts={"c1": "7.00"},
        payments={"c1": "5.00"},
        accepted_on=date(2025, 9, 1),
    )
    assert row.stage is portfolio.Stage.OPERATION and row.paid_amount == Decimal("5.00")


def test_overdue_items_are_derived_from_the_day() -> None:
    row = portfolio.ProjectRow(
        declaration_id="x",
        tenant_id="t",
        self_evaluation_closes_on=date(2026, 1, 1),
        contract_end_on=date(2025, 1, 1),
        contracts={"c": "1"},
    )
    assert portfolio.overdue_items(row, today=date(2025, 1, 2)) == ["construction_overdue"]
    assert portfolio.overdue_items(row, today=date(2026, 1, 2)) == [
        "construction_overdue",
        "self_evaluation_missed",
    ]
