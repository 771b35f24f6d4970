"""Org/tenant switching, the 项目库's filters and the 统计看板 in a real browser.

The platform here adds evaluation (the portfolio) to intake, review and the portal. Projects are
put into the portfolio the way they reach it in production: their upstream events
(declaration.submitted, plan.decided, approval.granted, contract.filed) published on the stack's
JetStream, folded by evaluation's own consumers. ``bureau_reviewer.multi`` works in county-a's and
the city's data bureaus (two memberships in the dev realm) and switches between them; county-b
is granted to nobody here and must never show. Screenshots 60-79.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from devstack.issuer.testing import get_token
from devstack.stack import Stack, StackPorts
from govkit.events import new_event
from govkit.events.nats import NatsConnection, ensure_stream
from govproj.common.v1 import common_pb2
from govproj.intake.events.v1 import events_pb2 as intake_pb2
from govproj.procurement.events.v1 import events_pb2 as procurement_pb2
from govproj.review.events.v1 import events_pb2 as review_pb2

from .conftest import SignIn, shot
from .helpers import check_accessibility, field_error, until

MARK = uuid.uuid4().hex[:6]
MULTI = "bureau_reviewer.multi"
# county-a: 23 projects (two pages of 20): one whose approval lapsed unused, one in construction,
# one of plan year 2024 above 2 million, twenty plain ones in review. city: 2. county-b: 1.
LAPSED = f"批复过期项目{MARK}"
BUILDING = f"在建项目{MARK}"
OLD = f"往年大项目{MARK}"
CITY_ONE = f"市本级平台{MARK}"
HIDDEN = f"乙县项目{MARK}"
COUNTS = {"county-a": 23, "city": 2, "county-b": 1}


def _events(tenant: str, name: str, **kw: object) -> list[tuple[str, object]]:
    """The upstream events of one project (submitted; planned and approved when asked)."""
    did = str(uuid.uuid4())
    money = common_pb2.Money
    amount = money(amount=str(kw.get("amount", "500000.00")))
    year = int(str(kw.get("year", 2026)))
    out: list[tuple[str, object]] = [
        (
            "govproj.intake.v1.declaration.submitted",
            intake_pb2.DeclarationSubmitted(
                declaration_id=did,
                tenant_id=tenant,
                org_id=str(kw.get("org", "unit-1")),
                org_name="示范单位",
                name=name,
                amount=amount,
                category=str(kw.get("category", "business_app")),
                construction_type="new",
                submitted_at="2026-03-02T09:00:00+08:00",
                target_year=year,
                plan_year=year,
                project_code=f"T-{did[:8]}",
            ),
        )
    ]
    if kw.get("approved_on"):
        out += [
            (
                "govproj.review.v1.plan.decided",
                review_pb2.PlanDecided(
                    case_id=str(uuid.uuid4()),
                    declaration_id=did,
                    tenant_id=tenant,
                    outcome="in_plan",
                    level="general",
                    budget=amount,
                    target_year=year,
                ),
            ),
            (
                "govproj.review.v1.approval.granted",
                review_pb2.ApprovalGranted(
                    approval_id=str(uuid.uuid4()),
                    declaration_id=did,
                    tenant_id=tenant,
                    project_code=f"T-{did[:8]}",
                    approved_amount=amount,
                    approved_on=str(kw["approved_on"]),
                    valid_until=str(kw.get("valid_until", "2030-01-01")),
                ),
            ),
        ]
    if kw.get("contract_end"):
        out.append(
            (
                "govproj.procurement.v1.contract.filed",
                procurement_pb2.ContractFiled(
                    contract_id=str(uuid.uuid4()),
                    declaration_id=did,
                    tenant_id=tenant,
                    project_code=f"T-{did[:8]}",
                    role="construction",
                    contract_amount=amount,
                    signed_on="2026-04-01",
                    period_end=str(kw["contract_end"]),
                ),
            )
        )
    return out


def _projects() -> list[tuple[str, list[tuple[str, object]]]]:
    past = (date.today() - timedelta(days=30)).isoformat()
    later = (date.today() + timedelta(days=365)).isoformat()
    # Mon 2 → Mon 16 March 2026: ten working days from submission to approval.
    a = [
        _events("county-a", LAPSED, approved_on="2026-03-16", valid_until=past, amount="800000.00"),
        _events(
            "county-a", BUILDING, approved_on="2026-03-16", contract_end=later, category="infrastructure"
        ),
        _events("county-a", OLD, year=2024, amount="2500000.00"),
        *(_events("county-a", f"普通项目{n:02d}{MARK}", org="unit-2") for n in range(20)),
    ]
    city = [_events("city", CITY_ONE, approved_on="2026-03-16"), _events("city", f"市本级二期{MARK}")]
    return (
        [("county-a", e) for e in a]
        + [("city", e) for e in city]
        + [("county-b", _events("county-b", HIDDEN))]
    )


async def _publish(nats_url: str) -> None:
    nats = NatsConnection(url=nats_url, name="browser-seed")
    try:
        js = await nats.jetstream(timeout=30)
        for context in ("intake", "review", "procurement"):
            await ensure_stream(js, context)
        for tenant, messages in _projects():
            for subject, message in messages:
                envelope = new_event(event_type=subject, tenant=tenant, payload=message)  # type: ignore[arg-type]
                await js.publish(subject, envelope.to_json(), headers={"Nats-Msg-Id": envelope.id})
    finally:
        await nats.close()


def _folded(stack: Stack) -> bool:
    """True once evaluation's portfolio holds every seeded project of every tenant."""
    for tenant, count in COUNTS.items():
        token = get_token(stack.issuer_url, f"bureau_head.{tenant}")
        listed = httpx.get(
            f"{stack.http_url('evaluation')}/v1/portfolio/projects",
            params={"q": MARK, "limit": 50},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        if listed.status_code != 200 or listed.json()["total"] != count:
            return False
    return True


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """intake, review, evaluation and the portal, with the projects above in the portfolio.

    Seeded here, before the module's browser starts: asyncio must not meet Playwright's loop.
    """
    root = Path(tempfile.mkdtemp(prefix="govproj-browser-lists-"))
    platform = Stack(
        root=root, ports=StackPorts.free(), durable=False, services=("intake", "review", "evaluation")
    )
    try:
        platform.start()
        asyncio.run(_publish(platform.nats.url))
        until(lambda: _folded(platform), what="the portfolio folds the seeded events", timeout=60)
        yield platform
    finally:
        platform.stop()
        shutil.rmtree(root, ignore_errors=True)


def _names(page: Page) -> str:
    return page.inner_text("#projects")


def _filter(page: Page, **fields: str) -> None:
    page.goto("/projects")
    for selector, value in fields.items():
        page.fill(f"#{selector}", value)
    page.click("#filter")


def test_switch_orgs_filter_page_and_dashboard(sign_in: SignIn) -> None:
    page = sign_in(MULTI)
    expect(page.locator("#active-membership")).to_contain_text("county-a")

    # --- 项目库 in county-a (the default membership): the lifecycle view ---------------------
    page.goto(f"/projects?q={MARK}")
    check_accessibility(page)
    expect(page.locator("#view-lifecycle")).to_have_attribute("aria-current", "page")
    expect(page.locator("#total")).to_have_text("共 23 个项目，第 1/2 页")
    assert CITY_ONE not in _names(page) and HIDDEN not in _names(page)
    shot(page, "60-lifecycle-list-county-a")
    page.click("#next-page")
    expect(page.locator("#total")).to_have_text("共 23 个项目，第 2/2 页")
    assert page.locator("#projects tbody tr").count() == 3
    page.click("#prev-page")
    assert page.locator("#projects tbody tr").count() == 20

    # Each filter narrows the list to what it names.
    _filter(page, q=MARK, year="2024")
    expect(page.locator("#total")).to_have_text("共 1 个项目，第 1/1 页")
    assert OLD in _names(page)
    page.goto(f"/projects?q={MARK}")
    page.select_option("#stage", "construction")
    page.click("#filter")
    expect(page.locator("#projects")).to_contain_text(BUILDING)
    expect(page.locator("#total")).to_have_text("共 1 个项目，第 1/1 页")
    shot(page, "61-filter-stage")
    page.goto(f"/projects?q={MARK}")
    page.select_option("#category", "infrastructure")
    page.click("#filter")
    assert BUILDING in _names(page) and LAPSED not in _names(page)
    _filter(page, q=MARK, org="unit-2")
    expect(page.locator("#total")).to_have_text("共 20 个项目，第 1/1 页")
    _filter(page, q=MARK, **{"f-amount_min": "2000000", "f-amount_max": "3000000"})
    expect(page.locator("#total")).to_have_text("共 1 个项目，第 1/1 页")
    assert OLD in _names(page)
    _filter(page, q=MARK, **{"f-amount_min": "3000000", "f-amount_max": "1000000"})
    assert field_error(page, "amount_max") == "金额上限不能小于下限"  # evaluation's message, by the field
    shot(page, "62-filter-amount-refused")
    page.goto(f"/projects?q={MARK}")
    page.check("#overdue")
    page.click("#filter")
    expect(page.locator("#total")).to_have_text("共 1 个项目，第 1/1 页")
    expect(page.locator("#projects")).to_contain_text(LAPSED)
    expect(page.locator("#projects")).to_contain_text("批复有效期已过仍未采购")
    shot(page, "63-filter-overdue")
    # A county reads no other county: refused beside the tenant field, nothing of county-b shown.
    _filter(page, q=MARK, **{"f-tenant": "county-b"})
    assert "只能查看本地区及所辖地区的项目" in field_error(page, "tenant")
    assert HIDDEN not in page.content()
    shot(page, "64-filter-tenant-refused")

    # --- switch to the city ------------------------------------------------------------------
    page.goto(f"/projects?q={MARK}")
    page.select_option("#active-org", "city/bureau")
    page.click("#switch-org")
    page.wait_for_url("**/projects")
    expect(page.locator("#active-membership")).to_contain_text("city")
    page.goto(f"/projects?q={MARK}")
    expect(page.locator("#total")).to_have_text("共 2 个项目，第 1/1 页")
    assert CITY_ONE in _names(page) and LAPSED not in _names(page) and HIDDEN not in _names(page)
    shot(page, "65-switched-to-city")
    # The city reads its counties' portfolios on purpose (the tenant filter), county-a's included.
    _filter(page, q=MARK, **{"f-tenant": "county-a"})
    expect(page.locator("#total")).to_have_text("共 23 个项目，第 1/2 页")

    # --- an org the token does not grant: the services' 403, nothing of it shown --------------
    page.goto("/projects")
    page.evaluate(
        "() => { const o = document.createElement('option'); o.value = 'county-b/bureau';"
        " o.textContent = 'county-b'; document.querySelector('#active-org').append(o); }"
    )
    page.select_option("#active-org", "county-b/bureau")
    with page.expect_response(lambda r: r.url.endswith("/switch-org")) as refused:
        page.click("#switch-org")
    assert refused.value.status == 403
    expect(page.locator("main")).to_contain_text("您不属于所选的地区或单位")
    assert HIDDEN not in page.content()
    shot(page, "66-switch-not-granted")
    page.goto(f"/projects?q={MARK}")
    expect(page.locator("#active-membership")).to_contain_text("city")  # the refused switch changed nothing

    # --- 统计看板 as the city, then back in county-a -------------------------------------------
    page.goto("/dashboard")
    check_accessibility(page)
    for chart in ("year", "stage", "tenant", "department", "timing"):
        expect(page.locator(f"#chart-p-{chart} svg")).to_have_count(1)  # ECharts drew each one
    # By tenant the city sees itself and its counties (each read under its own RLS binding).
    expect(page.locator("#stats-tenant")).to_contain_text("county-a")
    assert HIDDEN not in page.content() and LAPSED not in page.content()
    shot(page, "67-dashboard-city")
    page.select_option("#active-org", "county-a/bureau")
    page.click("#switch-org")
    page.wait_for_url("**/dashboard")
    expect(page.locator("#active-membership")).to_contain_text("county-a")
    assert int(page.inner_text("#portfolio-total")) >= COUNTS["county-a"]
    expect(page.locator("#overdue-list")).to_contain_text(LAPSED)
    expect(page.locator("#overdue-list")).to_contain_text("批复有效期已过仍未采购")
    # Mon 2 → Mon 16 March 2026: ten working days, for the two approved projects.
    approval = page.locator("#timing-approval td")
    assert approval.nth(1).inner_text() == "2" and approval.nth(2).inner_text() == "10.0"
    expect(page.locator("#stats-stage")).to_contain_text("建设中")
    assert CITY_ONE not in page.content() and HIDDEN not in page.content()
    shot(page, "68-dashboard-county-a")
    page.fill("#f-year", "2024")
    page.click("#dashboard-filter")
    assert page.inner_text("#portfolio-total") == "1"
    page.fill("#f-year", "明年")
    page.click("#dashboard-filter")
    assert field_error(page, "year") == "请填写整数"
    shot(page, "69-dashboard-year-refused")


def test_single_org_users_see_no_switcher_and_their_own_list(sign_in: SignIn) -> None:
    applicant = sign_in("applicant.county-a")
    applicant.goto("/projects")
    expect(applicant.locator("#org-switcher")).to_have_count(0)
    # Construction units start on their declarations (drafts included), the lifecycle one click away.
    expect(applicant.locator("#view-declarations")).to_have_attribute("aria-current", "page")
    applicant.click("#view-lifecycle")
    expect(applicant.locator("#total")).to_contain_text("个项目")
    assert LAPSED in applicant.inner_text("#projects")  # unit-1's own project
    assert "普通项目" not in applicant.inner_text("#projects")  # unit-2's are not unit-1's
    shot(applicant, "70-unit-lifecycle-own-projects")
    # The portfolio is for bureaus: a unit's dashboard sums its declarations instead, and says so.
    applicant.goto("/dashboard")
    expect(applicant.locator("#portfolio-refused")).to_be_visible()
    expect(applicant.locator("#chart-year svg")).to_have_count(1)
    shot(applicant, "71-unit-dashboard")
