"""The OC4IDS export: the portfolio folded from real event messages becomes a project package that
validates against the kept official OC4IDS 0.9.3 schemas, with its contracting processes, and
leaves out what must not be published."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from evaluation.adapters import oc4ids
from evaluation.domain import portfolio
from evaluation.domain.evaluation import add_months
from govproj.acceptance.events.v1 import events_pb2 as acceptance_pb2
from govproj.common.v1 import common_pb2
from govproj.intake.events.v1 import events_pb2 as intake_pb2
from govproj.procurement.events.v1 import events_pb2 as procurement_pb2
from govproj.review.events.v1 import events_pb2 as review_pb2

T0 = datetime(2025, 1, 2, 9, tzinfo=UTC)
CODE = "91230500MA1B2C3D4X"
SUPERVISOR = "91230500MA1B2C3E52"


def _fold(events: list[tuple[str, object]]) -> portfolio.ProjectRow:
    row = None
    for i, (subject, message) in enumerate(events):
        row = portfolio.apply(
            row,
            tenant="city",
            message=message,  # type: ignore[arg-type]
            fold=portfolio.HANDLERS[subject][1],
            occurred_at=T0 + timedelta(days=i),
            window_for=lambda _t, d: (add_months(d, 12), add_months(d, 24)),
        )
    assert row is not None
    return row


def _project(did: str, *, approved: bool = True, contracts: bool = True) -> portfolio.ProjectRow:
    money = common_pb2.Money
    events: list[tuple[str, object]] = [
        (
            "govproj.intake.v1.declaration.submitted",
            intake_pb2.DeclarationSubmitted(
                declaration_id=did,
                tenant_id="city",
                org_id="unit-1",
                org_name="市教育局",
                name="市级教育云平台",
                project_code=f"2026-230500-65-01-{did[-6:]}",
                category="business_app",
                performance_goals="覆盖全市中小学",
                amount=money(amount="1000000.00"),
                submitted_at="2025-01-02",
                findings=[intake_pb2.ScreeningFinding(kind="possible_duplicate")],
            ),
        ),
    ]
    if approved:
        events.append(
            (
                "govproj.review.v1.approval.granted",
                review_pb2.ApprovalGranted(
                    declaration_id=did, approved_amount=money(amount="900000.00"), approved_on="2025-03-01"
                ),
            )
        )
    if approved and contracts:
        for cid, role, code, amount in (
            ("c-sup", "supervision", SUPERVISOR, "30000.00"),
            ("c-build", "construction", CODE, "850000.00"),
        ):
            events.append(
                (
                    "govproj.procurement.v1.contract.filed",
                    procurement_pb2.ContractFiled(
                        declaration_id=did,
                        contract_id=cid,
                        role=role,
                        method="open_tender",
                        contract_amount=money(amount=amount),
                        signed_on="2025-04-01",
                        period_start="2025-04-01",
                        period_end="2026-03-31",
                        supplier_name=f"{role}公司",
                        supplier_credit_code=code,
                    ),
                )
            )
        events += [
            (
                "govproj.procurement.v1.payment.recorded",
                procurement_pb2.PaymentRecorded(
                    declaration_id=did, contract_id="c-build", paid_total=money(amount="500000.00")
                ),
            ),
            (
                "govproj.acceptance.v1.acceptance.passed",
                acceptance_pb2.AcceptancePassed(declaration_id=did, accepted_on="2026-04-20", stage="final"),
            ),
        ]
    return _fold(events)


def test_an_accepted_project_with_its_contracting_processes_validates_against_oc4ids() -> None:
    row = _project("d-000001")
    package = oc4ids.project_package([row], tenant="city", published_at=T0)
    assert oc4ids.validate(package) == []
    (project,) = package["projects"]
    assert project["id"] == f"oc4ids-govproj-{row.project_code}" and project["status"] == "completed"
    assert project["budget"]["amount"] == {"amount": 900000.0, "currency": "CNY"}
    processes = {p["id"]: p["summary"] for p in project["contractingProcesses"]}
    build = processes["c-build"]
    assert build["nature"] == ["construction"] and build["tender"]["procurementMethod"] == "open"
    assert build["suppliers"] == [{"id": f"CN-USCC-{CODE}", "name": "construction公司"}]
    assert build["contractValue"]["amount"] == 850000.0
    assert build["transactions"][0]["value"]["amount"] == 500000.0
    assert processes["c-sup"]["nature"] == ["supervision"] and "transactions" not in processes["c-sup"]
    roles = {p["id"]: p["roles"] for p in project["parties"]}
    assert roles == {
        "city-unit-1": ["publicAuthority"],
        f"CN-USCC-{CODE}": ["supplier"],
        f"CN-USCC-{SUPERVISOR}": ["supplier"],
    }
    assert project["completion"]["finalValue"]["amount"] == 880000.0


def test_unapproved_declarations_and_internal_flags_are_not_published() -> None:
    approved, in_review = _project("d-000002", contracts=False), _project("d-000003", approved=False)
    assert approved.flags == ["screening:possible_duplicate"]
    package = oc4ids.project_package([approved, in_review], tenant="city", published_at=T0)
    assert oc4ids.validate(package) == []
    assert [p["title"] for p in package["projects"]] == ["市级教育云平台"]
    assert package["projects"][0]["status"] == "preparation"
    text = json.dumps(package, ensure_ascii=False)
    assert "d-000003" not in text and "possible_duplicate" not in text and "screening" not in text


def test_the_kept_schema_refuses_what_oc4ids_refuses() -> None:
    package = oc4ids.project_package([_project("d-000004")], tenant="city", published_at=T0)
    package["projects"][0]["status"] = "in_review"  # not in the closed projectStatus codelist
    package["projects"][0]["contractingProcesses"][0]["summary"]["contractValue"]["currency"] = "元"
    del package["publisher"]
    errors = oc4ids.validate(package)
    assert any(e.startswith("(root)") and "publisher" in e for e in errors)
    assert any(e.startswith("projects/0/status") for e in errors)
    assert any("contractValue/currency" in e for e in errors)
    empty = oc4ids.project_package([], tenant="city", published_at=T0)
    assert any(e.startswith("projects") for e in oc4ids.validate(empty))  # minItems 1
