"""The pages' markup without a server: the overdue mark, labelled fields, messages beside fields."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from govkit.auth import Principal
from govproj.procurement.v1 import procurement_pb2
from portal.adapters.sessions import PortalSession
from portal.back_half import BackHalf
from portal.bootstrap import build_templates
from portal.domain import formspec
from portal.domain.forms import FormErrors
from portal.service import Section, as_dict

USER = Principal(
    sub="u",
    username="bureau_reviewer.county-a",
    tenant="county-a",
    org="bureau",
    roles=frozenset({"bureau_reviewer"}),
)
SESSION = PortalSession(
    id="s",
    csrf_token="csrf-123",
    principal=USER,
    display_name="审核人",
    access_token="a",
    refresh_token=None,
    id_token=None,
    expires_at=0,
)


def render(name: str, **context: Any) -> str:
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""})
    template = build_templates().get_template(name)
    return template.render(request=request, session=SESSION, user=USER, **context)


def test_overdue_task_is_marked_and_deadline_shown_in_working_days() -> None:
    task = {
        "id": "t",
        "case_id": "c",
        "kind_zh": "形式审查",
        "subject": "bureau_reviewer",
        "project_name": "智慧教育",
        "project_code": "2027-1",
        "due_on": "2027-01-05",
        "has_remaining": True,
        "remaining_workdays": -2,
        "urgency": "overdue",
        "citations": [{"ref": "lhasa §11"}],
    }
    page = render(
        "tasks.html", title="我的待办", tasks=[task, {**task, "urgency": "due_soon", "remaining_workdays": 1}]
    )
    assert page.count("⚠ 已逾期") == 1 and 'class="urgency-overdue"' in page and "即将到期" in page
    assert "2027-01-05" in page and "lhasa §11" in page and "智慧教育" in page


def test_every_form_field_has_a_label_and_its_message_beside_it() -> None:
    errors = FormErrors(
        fields={"budget": "列入计划时须填写计划安排资金"},
        code="PLAN_LEVEL_AND_BUDGET_REQUIRED",
        cite=["wuxing-2023 §9"],
    )
    page = render(
        "form.html",
        title="计划决定",
        fields=formspec.PLAN_DECISION,
        action="/x",
        values={},
        errors=errors,
        back="/",
        intro="",
    )
    for field in formspec.PLAN_DECISION:
        fid = "f-" + field.name.replace(".", "-")
        assert f'<label for="{fid}">' in page and f'id="{fid}"' in page, field.name
    assert 'id="f-budget-error">列入计划时须填写计划安排资金</p>' in page
    assert 'aria-invalid="true"' in page and "wuxing-2023 §9" in page
    assert 'name="csrf_token" value="csrf-123"' in page  # every form carries the CSRF token


def test_values_are_escaped() -> None:
    page = render(
        "form.html",
        title="x",
        fields=formspec.EXPERT,
        action="/x",
        values={"name": '<script>"'},
        errors=FormErrors(),
        back="/",
        intro="",
    )
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_the_expert_library_shows_a_listing_with_its_last_day() -> None:
    experts = [
        {
            "name": "甲",
            "org": "院",
            "specialties": ["网络"],
            "username": "",
            "available": True,
            "discredited": True,
            "discredited_reason": "泄露评审信息",
            "discredited_until": "2025-06-30",
        },
        {
            "name": "乙",
            "org": "院",
            "specialties": [],
            "username": "",
            "available": True,
            "discredited": True,
            "discredited_reason": "收受财物",
            "discredited_until": "",
        },
        {
            "name": "丙",
            "org": "院",
            "specialties": [],
            "username": "",
            "available": True,
            "discredited": False,
            "discredited_reason": "",
            "discredited_until": "",
        },
    ]
    page = render("experts.html", title="专家库", experts=experts, fields=[], values={}, errors=FormErrors())
    assert "失信：泄露评审信息（至 2025-06-30）" in page
    assert "失信：收受财物</span>" in page and page.count("（至") == 1 and "可抽取" in page


def test_a_signed_contract_not_yet_filed_shows_its_deadline_and_when_it_is_overdue() -> None:
    def page(overdue: bool) -> str:
        signed = procurement_pb2.Procurement(
            id="p1",
            role="construction",
            method="open_tender",
            status="signed",
            started_on="2025-02-20",
            signed_on="2025-03-03",
            filing_due_on="2025-03-10",
            filing_overdue=overdue,
        )
        response = procurement_pb2.ProjectResponse(
            project=procurement_pb2.Project(status="procurement"), procurements=[signed]
        )
        back = BackHalf(procurement=Section(data=as_dict(response)))
        return render("project_back_half.html", b=back, d={"declaration": {"id": "d1"}})

    due = page(overdue=False)
    assert "合同已于 2025-03-03 签订，尚未备案（备案期限 2025-03-10）" in due
    assert 'id="unfiled-overdue-construction"' not in due
    late = page(overdue=True)
    assert 'id="unfiled-overdue-construction">逾期未备案</strong>' in late
