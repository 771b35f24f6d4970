"""The REST API in process (real database): shapes, Chinese field errors, multipart upload, 409, 404.

Only the token check is replaced (by a chosen principal); tokens themselves are tested end to end.
"""

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from govkit.auth import Principal
from govkit.auth.rest import current_principal
from govkit.web import create_app
from intake.entrypoints.rest import routers

from .conftest import PDF_BYTES

pytestmark = pytest.mark.integration


class Api:
    def __init__(self, world: Any, client: httpx.AsyncClient, holder: dict[str, Principal]) -> None:
        self.world, self.client, self.holder = world, client, holder

    def as_(self, principal: Principal) -> httpx.AsyncClient:
        self.holder["who"] = principal
        return self.client


@pytest.fixture
async def api(make_world) -> AsyncIterator[Api]:  # type: ignore[no-untyped-def]
    world = await make_world("qiaokou-2022")
    app = create_app(title="intake test")
    for router in routers:
        app.include_router(router)
    app.state.intake = world.deps
    holder: dict[str, Principal] = {"who": world.applicant}
    app.dependency_overrides[current_principal] = lambda: holder["who"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
        yield Api(world, client, holder)


FORM = {
    "name": "智慧水务平台",
    "category": "infrastructure",
    "construction_type": "upgrade",
    "amount": "450000.00",
    "breakdown": {
        "hardware": "150000.00",
        "software": "250000.00",
        "security": "30000.00",
        "supervision": "20000.00",
    },
    "necessity": "供水管网漏损率高。",
    "goals": "降低漏损率。",
    "content": "建设管网监测与调度系统。",
    "performance_goals": "漏损率降至10%以下。",
    "funding_source": "县级财政资金",
    "contact": "李工 13900000000",
    "cloud_deployment": True,
}


async def test_the_whole_path_over_rest(api: Api) -> None:
    world = api.world
    client = api.as_(world.bureau)
    opened = await client.post("/v1/calls", json={"target_year": 2027})
    assert opened.status_code == 201, opened.text
    assert opened.json()["deadline"] == "2026-09-15" and opened.json()["citations"] == [
        "qiaokou-2022 §10",
        "qiaokou-2022 §14",
    ]

    client = api.as_(world.applicant)
    created = await client.post("/v1/declarations", json=FORM)
    assert created.status_code == 201, created.text
    draft = created.json()
    assert draft["breakdown"]["total"] == "450000.00" and draft["construction_unit"] == "县教育局"
    for doc_type in ("application_form", "technical_scheme"):
        uploaded = await client.post(
            f"/v1/declarations/{draft['id']}/materials",
            data={"doc_type": doc_type},
            files={"file": (f"{doc_type}.pdf", PDF_BYTES, "application/pdf")},
        )
        assert uploaded.status_code == 201, uploaded.text
        assert uploaded.json()["sha256"] == hashlib.sha256(PDF_BYTES).hexdigest()
    listed = (await client.get(f"/v1/declarations/{draft['id']}/materials")).json()
    assert listed["missing_doc_types"] == [] and len(listed["items"]) == 2
    content = await client.get(f"/v1/declarations/{draft['id']}/materials/{listed['items'][0]['id']}/content")
    assert (
        content.content == PDF_BYTES
        and content.headers["x-content-sha256"] == hashlib.sha256(PDF_BYTES).hexdigest()
    )

    pending = await client.post(f"/v1/declarations/{draft['id']}/submit", headers={"If-Match": '"1"'})
    assert pending.status_code == 200 and pending.json()["status"] == "pending_signoff"
    stale = await api.as_(world.head).post(f"/v1/declarations/{draft['id']}/sign-off", json={"version": 1})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "VERSION_CONFLICT"
    signed = await api.as_(world.head).post(f"/v1/declarations/{draft['id']}/sign-off", json={"version": 2})
    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert body["status"] == "submitted" and body["project_code"].startswith(
        f"2026-{world.region_code}-01-02-"
    )
    assert body["round"] == 1 and body["citations"]

    page = (await api.as_(world.auditor).get("/v1/declarations", params={"status": "submitted"})).json()
    assert page["total"] == 1 and page["items"][0]["id"] == draft["id"]


async def test_bad_input_gets_chinese_field_messages_never_a_500(api: Api) -> None:
    client = api.as_(api.world.applicant)
    bad = await client.post(
        "/v1/declarations",
        json={**FORM, "amount": "-5", "category": "spaceship", "mlps_level": 9, "extra": 1},
    )
    assert bad.status_code == 400
    fields = {f["field"]: f["message"] for f in bad.json()["error"]["details"]["fields"]}
    assert fields == {
        "amount": "数值必须大于下限",
        "category": "取值不在允许范围内",
        "mlps_level": "数值超过上限",
        "extra": "不允许的字段",
    }
    mismatch = await client.post("/v1/declarations", json={**FORM, "amount": "460000.00"})
    assert mismatch.status_code == 400 and mismatch.json()["error"]["code"] == "BREAKDOWN_MISMATCH"
    assert "不一致" in mismatch.json()["error"]["message"]
    classified = await client.post("/v1/declarations", json={**FORM, "classified": True})
    assert classified.status_code == 422 and classified.json()["error"]["cite"] == ["qiaokou-2022 §41"]
    assert (await client.get("/v1/declarations/not-a-uuid")).status_code == 404
    bad_code = await client.get("/v1/declarations", params={"project_code": "2026-1-1"})
    assert bad_code.status_code == 400 and bad_code.json()["error"]["code"] == "PROJECT_CODE_INVALID"
    no_version = await api.as_(api.world.head).post(
        f"/v1/declarations/{'0' * 8}-0000-0000-0000-{'0' * 12}/sign-off", json={}
    )
    assert no_version.status_code == 400
    exe = await client.post(
        f"/v1/declarations/{'0' * 8}-0000-0000-0000-{'0' * 12}/materials",
        data={"doc_type": "other"},
        files={"file": ("a.exe", b"MZ", "application/octet-stream")},
    )
    assert exe.status_code == 400 and exe.json()["error"]["code"] == "UPLOAD_TYPE_NOT_ALLOWED"


async def test_registry_endpoints(api: Api) -> None:
    world = api.world
    orgs = (await api.as_(world.applicant).get("/v1/orgs")).json()["items"]
    assert {o["id"] for o in orgs} == {"unit-1", "unit-2", "bureau", "audit"}
    forbidden = await api.as_(world.applicant).put(
        "/v1/orgs/unit-3",
        json={
            "name": "交通局",
            "org_type": "construction_unit",
            "budget_units": 1,
            "dept_code": "03",
            "version": 0,
        },
    )
    assert forbidden.status_code == 403
    created = await api.as_(world.admin).put(
        "/v1/orgs/unit-3",
        json={
            "name": "交通局",
            "org_type": "construction_unit",
            "budget_units": 1,
            "dept_code": "03",
            "version": 0,
        },
    )
    assert created.status_code == 200 and created.json()["version"] == 1
    [tenant] = (await api.as_(world.admin).get("/v1/tenants")).json()["items"]
    assert tenant["region_code"] == world.region_code
    system = await api.as_(world.bureau).post(
        "/v1/existing-systems", json={"org_id": "unit-1", "name": "学籍管理系统", "description": "学籍"}
    )
    assert system.status_code == 201, system.text
    retired = await api.as_(world.bureau).put(
        f"/v1/existing-systems/{system.json()['id']}",
        json={"org_id": "unit-1", "name": "学籍管理系统", "status": "retired", "version": 1},
    )
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    active = (await api.as_(world.bureau).get("/v1/existing-systems")).json()["items"]
    assert active == []
