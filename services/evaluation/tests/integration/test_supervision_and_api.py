"""The discredited list, rectification orders with their escalation, self-checks and closures, over
the REST API in process: errors in one shape, 409 on a stale version, tenants kept apart by RLS."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from evaluation.service import EvaluationDeps
from evaluation.service import rectification as rectification_service

pytestmark = pytest.mark.integration


def _client(deps: EvaluationDeps, h: Any, tenants: Any) -> httpx.AsyncClient:
    users = {
        "bureau": h.who(tenants.lhasa, "bureau_head"),
        "unit": h.who(tenants.lhasa, "applicant", org="unit-1"),
        "other": h.who(tenants.wuxing, "bureau_head"),
        "platform": h.who(tenants.lhasa, "platform_admin", org=None),
        "qk_bureau": h.who(tenants.qiaokou, "bureau_reviewer"),
        "wx_unit": h.who(tenants.wuxing, "unit_head", org="unit-1"),
        "wx_bureau": h.who(tenants.wuxing, "bureau_head"),
    }
    app = h.app_for(deps, users)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def _as(user: str) -> dict[str, str]:
    return {"x-test-user": user}


async def test_discredited_supplier_and_expert_listed_published_and_removed(
    deps: EvaluationDeps, tenants: Any, h: Any
) -> None:
    code = h.credit_code(12345)
    async with _client(deps, h, tenants) as c:
        bad = await c.post(
            "/v1/discredited",
            json={
                "subject_kind": "supplier",
                "credit_code": "91330500123456789X",
                "name": "某公司",
                "grounds": "串通投标",
                "period_from": "2025-03-01",
            },
            headers=_as("bureau"),
        )
        assert bad.status_code == 400
        assert bad.json()["error"]["code"] == "CREDIT_CODE_INVALID"
        refused = await c.post(
            "/v1/discredited",
            json={
                "subject_kind": "supplier",
                "credit_code": code,
                "name": "某公司",
                "grounds": "串通投标",
                "period_from": "2025-03-01",
            },
            headers=_as("unit"),
        )
        assert refused.status_code == 403
        added = await c.post(
            "/v1/discredited",
            json={
                "subject_kind": "supplier",
                "credit_code": code,
                "name": "某信息技术有限公司",
                "grounds": "提供虚假材料谋取中标",
                "period_from": "2025-03-01",
                "period_until": "2027-02-28",
            },
            headers=_as("bureau"),
        )
        assert added.status_code == 201, added.text
        entry = added.json()
        assert entry["citations"] == ["lhasa §22"] and entry["active_today"]
        expert = await c.post(
            "/v1/discredited",
            json={
                "subject_kind": "expert",
                "expert_id": "e-42",
                "name": "张三",
                "grounds": "评审中收受财物",
                "period_from": "2025-03-01",
            },
            headers=_as("bureau"),
        )
        assert expert.status_code == 201

        changed = await h.outbox(deps.uow, tenants.lhasa, "govproj.evaluation.v1.discredited.changed")
        payloads = [e["payload"] for e in changed]
        assert payloads[0]["credit_code"] == code and payloads[0]["change"] == "added"
        assert payloads[0]["subject_kind"] == "supplier" and payloads[0]["scope"] == "tenant"
        assert payloads[0]["period_until"] == "2027-02-28" and payloads[0]["citations"] == [
            {"ref": "lhasa §22"}
        ]
        assert payloads[1]["expert_id"] == "e-42"

        check = await c.get("/v1/discredited/check", params={"credit_code": code}, headers=_as("unit"))
        assert [e["id"] for e in check.json()["items"]] == [entry["id"]]
        # Another tenant neither sees the listing nor has it in its checks.
        other = await c.get("/v1/discredited/check", params={"credit_code": code}, headers=_as("other"))
        assert other.json()["items"] == []
        hidden = await c.get(f"/v1/discredited/{entry['id']}", headers=_as("other"))
        assert hidden.status_code == 404

        stale = await c.post(
            f"/v1/discredited/{entry['id']}/remove",
            json={"version": 7, "reason": "复核撤销"},
            headers=_as("bureau"),
        )
        assert stale.status_code == 409
        removed = await c.post(
            f"/v1/discredited/{entry['id']}/remove",
            json={"reason": "复核撤销"},
            headers={**_as("bureau"), "If-Match": '"1"'},
        )
        assert removed.status_code == 200 and removed.json()["removed_at"]
        again = await c.get("/v1/discredited/check", params={"credit_code": code}, headers=_as("unit"))
        assert again.json()["items"] == []
        last = (await h.outbox(deps.uow, tenants.lhasa, "govproj.evaluation.v1.discredited.changed"))[-1]
        assert last["payload"]["change"] == "removed" and last["payload"]["grounds"] == "复核撤销"

        # The platform's list applies in every tenant.
        platform = await c.post(
            "/v1/discredited",
            json={
                "scope": "platform",
                "subject_kind": "third_party",
                "credit_code": h.credit_code(777),
                "name": "某测评机构",
                "grounds": "出具虚假测评报告",
                "period_from": "2025-01-01",
            },
            headers=_as("platform"),
        )
        assert platform.status_code == 201, platform.text
        seen = await c.get(
            "/v1/discredited/check", params={"credit_code": h.credit_code(777)}, headers=_as("other")
        )
        assert [e["scope"] for e in seen.json()["items"]] == ["platform"]
        no_admin = await c.post(
            "/v1/discredited",
            json={
                "scope": "platform",
                "subject_kind": "supplier",
                "credit_code": code,
                "name": "x",
                "grounds": "y",
                "period_from": "2025-01-01",
            },
            headers=_as("bureau"),
        )
        assert no_admin.status_code == 403


async def test_rectification_order_escalates_past_due_with_qiaokou_37(
    deps: EvaluationDeps, tenants: Any, clock: Any, h: Any
) -> None:
    tenant = tenants.qiaokou
    d = h.submitted(tenant)
    await h.feed(deps, d, tenant=tenant)
    async with _client(deps, h, tenants) as c:
        past = await c.post(
            "/v1/rectifications",
            json={
                "declaration_id": d.declaration_id,
                "stage": "construction",
                "owner": "李四",
                "items": ["补齐监理日志"],
                "grounds": "监督检查发现",
                "due_on": "2025-01-01",
            },
            headers=_as("qk_bureau"),
        )
        assert past.status_code == 400 and past.json()["error"]["code"] == "DUE_DATE_PAST"
        issued = await c.post(
            "/v1/rectifications",
            json={
                "declaration_id": d.declaration_id,
                "stage": "construction",
                "owner": "李四",
                "items": ["补齐监理日志", "整改网络安全问题"],
                "grounds": "监督检查发现未按批复实施",
                "due_on": "2025-03-14",
            },
            headers=_as("qk_bureau"),
        )
        assert issued.status_code == 201, issued.text
        order = issued.json()
        assert order["citations"] == ["qiaokou-2022 §37"]
        unknown = await c.post(
            "/v1/rectifications",
            json={
                "declaration_id": "nope",
                "stage": "construction",
                "owner": "x",
                "items": ["y"],
                "grounds": "z",
                "due_on": "2025-03-14",
            },
            headers=_as("qk_bureau"),
        )
        assert unknown.status_code == 404

    assert await rectification_service.escalate_overdue(deps, tenant) == 0  # not due yet
    clock.day = date(2025, 3, 17)
    assert await rectification_service.escalate_overdue(deps, tenant) == 1
    assert await rectification_service.escalate_overdue(deps, tenant) == 0  # once only
    escalated = await h.outbox(deps.uow, tenant, "govproj.evaluation.v1.rectification.escalated")
    payload = escalated[-1]["payload"]
    assert payload["order_id"] == order["id"] and payload["declaration_id"] == d.declaration_id
    assert payload["project_code"] == d.project_code and payload["tenant_id"] == tenant
    assert payload["grounds"] == "监督检查发现未按批复实施"
    assert payload["citations"] == [{"ref": "qiaokou-2022 §37"}]
    async with _client(deps, h, tenants) as c:
        got = await c.get(f"/v1/rectifications/{order['id']}", headers=_as("qk_bureau"))
        assert got.json()["status"] == "escalated"
        assert (await c.get(f"/v1/rectifications/{order['id']}", headers=_as("other"))).status_code == 404
        done = await c.post(
            f"/v1/rectifications/{order['id']}/resolve",
            json={"version": got.json()["version"], "resolution": "已补齐"},
            headers=_as("qk_bureau"),
        )
        assert done.json()["status"] == "resolved"


async def test_self_check_and_closure_request_under_wuxing_29(
    deps: EvaluationDeps, tenants: Any, h: Any
) -> None:
    tenant = tenants.wuxing
    d = h.submitted(tenant)
    await h.feed(deps, d, h.accepted(d, date(2024, 5, 1)), tenant=tenant)
    async with _client(deps, h, tenants) as c:
        empty = await c.post(
            "/v1/self-checks",
            json={"declaration_id": d.declaration_id, "compliant": False},
            headers=_as("wx_unit"),
        )
        assert empty.status_code == 400 and empty.json()["error"]["code"] == "FINDINGS_REQUIRED"
        check = await c.post(
            "/v1/self-checks",
            json={"declaration_id": d.declaration_id, "compliant": False, "findings": ["未接入数据共享平台"]},
            headers=_as("wx_unit"),
        )
        assert check.status_code == 201 and check.json()["citations"] == ["wuxing-2023 §29"]
        closure = await c.post(
            "/v1/closures",
            json={
                "declaration_id": d.declaration_id,
                "action": "merge",
                "reason": "功能并入统一平台",
                "self_check_id": check.json()["id"],
            },
            headers=_as("wx_unit"),
        )
        assert closure.status_code == 201
        foreign = await c.post(
            f"/v1/closures/{closure.json()['id']}/decide",
            json={"version": 1, "approve": True},
            headers=_as("bureau"),
        )
        assert foreign.status_code == 404  # another tenant's bureau: RLS hides the request
        not_mine = await c.post(
            "/v1/self-checks",
            json={"declaration_id": d.declaration_id, "compliant": True},
            headers=_as("unit"),
        )
        assert not_mine.status_code == 404
        assert (await c.get("/v1/closures", headers=_as("bureau"))).json()["items"] == []
        assert len((await c.get("/v1/closures", headers=_as("wx_bureau"))).json()["items"]) == 1
        decided = await c.post(
            f"/v1/closures/{closure.json()['id']}/decide",
            json={"version": 1, "approve": True},
            headers=_as("wx_bureau"),
        )
        assert decided.json()["status"] == "approved"
        twice = await c.post(
            f"/v1/closures/{closure.json()['id']}/decide",
            json={"version": 2, "approve": False, "reason": "x"},
            headers=_as("wx_bureau"),
        )
        assert twice.status_code == 409
    out = await h.outbox(deps.uow, tenant, "govproj.evaluation.v1.closure.decided")
    assert out[-1]["payload"]["action"] == "merge" and out[-1]["payload"]["outcome"] == "approved"
