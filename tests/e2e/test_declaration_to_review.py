"""End to end over HTTP and gRPC with real tokens: a declaration crosses from intake to review."""

from __future__ import annotations

import time

import grpc
import httpx
import pytest

from devstack.stack import SERVICES, Stack
from govproj.common.v1 import common_pb2
from govproj.intake.v1 import intake_pb2, intake_pb2_grpc
from govproj.review.v1 import review_pb2, review_pb2_grpc
from tests.e2e.helpers import DRAFT, PDF, create_draft, ensure_call, submit_to_bureau, wait_for_case

pytestmark = pytest.mark.e2e


def test_every_process_is_up(stack: Stack) -> None:
    with httpx.Client(timeout=5) as client:
        for service in SERVICES:
            assert client.get(f"{stack.http_url(service)}/healthz").status_code == 200
            assert client.get(f"{stack.http_url(service)}/readyz").json() == {"ready": True}
            assert client.get(f"{stack.http_url(service)}/openapi.json").status_code == 200
        page = client.get(stack.portal_url)
        assert page.status_code == 200 and "政务信息化项目管理平台" in page.text
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    async def check_all() -> None:
        for service in SERVICES:
            async with grpc.aio.insecure_channel(stack.grpc_target(service)) as channel:
                reply = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=5
                )
                assert reply.status == health_pb2.HealthCheckResponse.SERVING

    import asyncio

    asyncio.run(check_all())


def test_draft_edit_sign_off_opens_a_review_case(login) -> None:  # type: ignore[no-untyped-def]
    applicant = login("applicant.county-a")
    bureau = login("bureau_reviewer.county-a")
    with (
        applicant.client("intake") as intake,
        login("unit_head.county-a").client("intake") as intake_as_head,
        bureau.client("intake") as intake_as_bureau,
        applicant.client("review") as review_as_unit,
        bureau.client("review") as review,
    ):
        ensure_call(intake_as_bureau)
        draft = create_draft(intake)
        assert draft["status"] == "draft" and draft["version"] == 1 and draft["org_id"] == "unit-1"
        breakdown = {**DRAFT["breakdown"], "other": "20000.00"}  # type: ignore[dict-item]
        edited = intake.patch(
            f"/v1/declarations/{draft['id']}",
            json={"version": 1, "amount": "1300000.00", "breakdown": breakdown},
        )
        assert edited.status_code == 200, edited.text
        assert edited.json()["version"] == 2 and edited.json()["amount"] == "1300000.00"
        submitted = submit_to_bureau(intake, intake_as_head, edited.json())
        assert submitted["status"] == "submitted" and submitted["project_code"]
        case = wait_for_case(review, draft["id"])
        assert case["name"] == DRAFT["name"] and case["amount"] == "1300000.00" and case["status"] == "open"
        # The declaring unit follows its own case too.
        assert wait_for_case(review_as_unit, draft["id"])["id"] == case["id"]


def test_bad_input_gets_a_clear_error_and_writes_nothing(login) -> None:  # type: ignore[no-untyped-def]
    applicant = login("applicant2.county-a")
    with applicant.client("intake") as intake:
        bad = intake.post("/v1/declarations", json={**DRAFT, "amount": "-5", "category": "spaceship"})
        assert bad.status_code == 400
        error = bad.json()["error"]
        assert error["code"] == "VALIDATION_FAILED" and error["message"]
        assert {f["field"] for f in error["details"]["fields"]} == {"amount", "category"}
        garbage = intake.post(
            "/v1/declarations", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert garbage.status_code == 400 and garbage.json()["error"]["code"] == "VALIDATION_FAILED"
        assert intake.get("/v1/declarations/not-a-uuid").status_code == 404
        draft = create_draft(intake)
        stale = intake.patch(f"/v1/declarations/{draft['id']}", json={"version": 7, "name": "新名称"})
        assert stale.status_code == 409 and stale.json()["error"]["code"] == "VERSION_CONFLICT"
        assert intake.get(f"/v1/declarations/{draft['id']}").json()["name"] == DRAFT["name"]


def test_county_a_gets_404_for_county_b_declaration(login) -> None:  # type: ignore[no-untyped-def]
    with login("applicant.county-b").client("intake") as intake_b:
        theirs = create_draft(intake_b)
    for user in ("applicant.county-a", "bureau_reviewer.county-a", "auditor.county-a"):
        with login(user).client("intake") as intake_a:
            response = intake_a.get(f"/v1/declarations/{theirs['id']}")
            assert response.status_code == 404, (user, response.text)
            assert response.json()["error"]["code"] == "DECLARATION_NOT_FOUND"


def test_unit_2_cannot_read_unit_1_draft_in_the_same_tenant(login) -> None:  # type: ignore[no-untyped-def]
    with login("applicant.city").client("intake") as unit_1:
        draft = create_draft(unit_1)
    with login("applicant2.city").client("intake") as unit_2:
        assert unit_2.get(f"/v1/declarations/{draft['id']}").status_code == 404
        assert unit_2.post(f"/v1/declarations/{draft['id']}/submit", json={"version": 1}).status_code == 404
    with login("bureau_reviewer.city").client("intake") as bureau:
        assert bureau.get(f"/v1/declarations/{draft['id']}").status_code == 200


def test_the_same_slice_over_grpc(stack: Stack, login) -> None:  # type: ignore[no-untyped-def]
    metadata = (("authorization", f"Bearer {login('applicant.county-b').token}"),)
    head = (("authorization", f"Bearer {login('unit_head.county-b').token}"),)
    with login("bureau_reviewer.county-b").client("intake") as intake_as_bureau:
        ensure_call(intake_as_bureau)

    async def run() -> None:
        async with grpc.aio.insecure_channel(stack.grpc_target("intake")) as channel:
            intake = intake_pb2_grpc.DeclarationServiceStub(channel)
            created = await intake.CreateDeclaration(
                intake_pb2.CreateDeclarationRequest(
                    fields=intake_pb2.DeclarationFields(
                        name="智慧水务",
                        category="infrastructure",
                        construction_type="upgrade",
                        amount=common_pb2.Money(amount="450000.00"),
                        breakdown=intake_pb2.AmountBreakdown(
                            hardware=common_pb2.Money(amount="150000.00"),
                            software=common_pb2.Money(amount="250000.00"),
                            security=common_pb2.Money(amount="30000.00"),
                            supervision=common_pb2.Money(amount="20000.00"),
                        ),
                        necessity="供水管网漏损率高",
                        goals="降低漏损率",
                        content="建设管网监测与调度系统",
                        performance_goals="漏损率降至10%以下",
                        funding_source="县级财政资金",
                        contact="李工 13900000000",
                        cloud_deployment=True,
                    )
                ),
                metadata=metadata,
                timeout=10,
            )
            declaration = created.declaration
            listed = await intake.ListMaterials(
                intake_pb2.ListMaterialsRequest(declaration_id=declaration.id), metadata=metadata, timeout=10
            )
            for doc_type in listed.missing_doc_types:
                uploaded = await intake.UploadMaterial(
                    intake_pb2.UploadMaterialRequest(
                        declaration_id=declaration.id,
                        doc_type=doc_type.split("|")[0],
                        filename=f"{doc_type.split('|')[0]}.pdf",
                        content_type="application/pdf",
                        data=PDF,
                    ),
                    metadata=metadata,
                    timeout=10,
                )
                assert len(uploaded.material.sha256) == 64
            with pytest.raises(grpc.aio.AioRpcError) as stale:
                await intake.SubmitDeclaration(
                    intake_pb2.SubmitDeclarationRequest(id=declaration.id, version=5),
                    metadata=metadata,
                    timeout=10,
                )
            assert stale.value.code() == grpc.StatusCode.ABORTED
            pending = await intake.SubmitDeclaration(
                intake_pb2.SubmitDeclarationRequest(id=declaration.id, version=declaration.version),
                metadata=metadata,
                timeout=10,
            )
            assert pending.declaration.status == intake_pb2.DECLARATION_STATUS_PENDING_SIGNOFF
            with pytest.raises(grpc.aio.AioRpcError) as not_head:
                await intake.SignOff(
                    intake_pb2.TransitionRequest(id=declaration.id, version=pending.declaration.version),
                    metadata=metadata,
                    timeout=10,
                )
            assert not_head.value.code() == grpc.StatusCode.PERMISSION_DENIED
            submitted = await intake.SignOff(
                intake_pb2.TransitionRequest(id=declaration.id, version=pending.declaration.version),
                metadata=head,
                timeout=10,
            )
            assert submitted.declaration.status == intake_pb2.DECLARATION_STATUS_SUBMITTED
            assert len(submitted.declaration.project_code) == 24
            with pytest.raises(grpc.aio.AioRpcError) as unauthenticated:
                await intake.GetDeclaration(intake_pb2.GetDeclarationRequest(id=declaration.id), timeout=10)
            assert unauthenticated.value.code() == grpc.StatusCode.UNAUTHENTICATED
        async with grpc.aio.insecure_channel(stack.grpc_target("review")) as channel:
            review = review_pb2_grpc.ReviewCaseServiceStub(channel)
            for _ in range(200):
                try:
                    reply = await review.GetCase(
                        review_pb2.GetCaseRequest(declaration_id=declaration.id),
                        metadata=metadata,
                        timeout=10,
                    )
                    break
                except grpc.aio.AioRpcError as exc:
                    assert exc.code() == grpc.StatusCode.NOT_FOUND
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("no case over gRPC")
            assert reply.review_case.declaration_id == declaration.id

    import asyncio

    asyncio.run(run())


def test_nats_down_while_submitting_the_case_appears_after_it_is_back(stack: Stack, login) -> None:  # type: ignore[no-untyped-def]
    applicant = login("applicant.county-b")
    with (
        applicant.client("intake") as intake,
        login("unit_head.county-b").client("intake") as intake_as_head,
        login("bureau_reviewer.county-b").client("intake") as intake_as_bureau,
        login("bureau_reviewer.county-b").client("review") as review,
    ):
        ensure_call(intake_as_bureau)
        draft = create_draft(intake, name="NATS 中断期间提交的项目", content="中断期间的建设内容")
        stack.nats.stop()
        try:
            submitted = submit_to_bureau(intake, intake_as_head, draft)
            assert submitted["status"] == "submitted"
            time.sleep(1.0)
            assert review.get("/v1/cases", params={"declaration_id": draft["id"]}).json()["items"] == []
        finally:
            stack.nats.start()
        case = wait_for_case(review, draft["id"], timeout=40)
        assert case["declaration_id"] == draft["id"]
