"""Where procurement's and acceptance's refusals land on the back half's construction forms."""

from __future__ import annotations

from govkit.errors import AppError, ErrorKind
from portal.domain import construction_forms as spec
from portal.domain.forms import FormErrors
from portal.domain.formspec import names

CHECKLIST = [
    {"code": "content", "label_zh": "建设内容完成", "citations": [{"ref": "lhasa §17"}]},
    {"code": "docs", "label_zh": "文档齐全", "citations": []},
]


def test_a_refused_filing_puts_each_failed_check_with_its_article_beside_its_field() -> None:
    known = names((*spec.FILING_TERMS, *spec.document_fields("open_tender", [])))
    err = AppError(
        code="FILING_REFUSED",
        message="合同备案未通过。",
        kind=ErrorKind.PRECONDITION,
        details={
            "checks": [
                {
                    "code": "AMOUNT_WITHIN_APPROVAL",
                    "passed": False,
                    "blocking": True,
                    "message": "合同金额不得超过批复金额",
                    "cite": ["wuxing-2023 §15"],
                },
                {
                    "code": "DESIGNER_SUPERVISOR_TESTER_EXCLUDED",
                    "passed": False,
                    "blocking": True,
                    "message": "设计单位不得承建",
                    "cite": ["wuxing-2023 §17"],
                },
                {
                    "code": "FILED_WITHIN_DEADLINE",
                    "passed": False,
                    "blocking": False,
                    "message": "已逾期",
                    "cite": ["wuxing-2023 §27"],
                },
            ]
        },
        cite=["wuxing-2023 §15", "wuxing-2023 §17"],
    )
    placed = spec.place_errors(err, form="filing", known_fields=known)
    assert placed.fields == {
        "amount": "合同金额不得超过批复金额（依据：wuxing-2023 §15）",
        "supplier_credit_code": "设计单位不得承建（依据：wuxing-2023 §17）",
    }
    missing = AppError(
        code="FILING_DOCUMENTS_MISSING",
        message="备案材料不全。",
        kind=ErrorKind.PRECONDITION,
        details={"missing": ["award_notice"]},
    )
    assert spec.place_errors(missing, form="filing", known_fields=known).fields == {
        "doc.award_notice": "请上传中标（成交）通知书"
    }


def test_self_procured_work_asks_for_the_explanation_and_uploaded_files_are_not_required() -> None:
    fields = spec.document_fields("self_procured", ["contract"])
    assert [(f.name, f.required) for f in fields] == [
        ("doc.self_procurement_explanation", True),
        ("doc.contract", False),
    ]


def test_the_final_payment_refused_before_acceptance_lands_on_its_kind_with_the_article() -> None:
    err = AppError(
        code="FINAL_PAYMENT_BEFORE_ACCEPTANCE",
        message="项目未通过竣工验收，不得支付尾款。",
        kind=ErrorKind.PRECONDITION,
        cite=["lhasa §19"],
    )
    placed = spec.place_errors(err, form="payment", known_fields={"kind", "amount"})
    assert placed.fields == {"kind": "项目未通过竣工验收，不得支付尾款。（依据：lhasa §19）"}


def test_acceptance_result_refusals_land_on_the_item_or_the_rectification_row() -> None:
    known = names(spec.decision_fields(CHECKLIST))
    assert {"finding.content", "note.docs", "opinion", "rect.3.due_on"} <= known
    incomplete = AppError(
        code="CHECKLIST_INCOMPLETE",
        message="请对验收清单的每一项给出结论。",
        kind=ErrorKind.INVALID,
        details={"missing": ["docs"], "unknown": []},
    )
    assert spec.place_errors(incomplete, form="decide", known_fields=known).fields == {
        "finding.docs": "请对该项给出结论"
    }
    row = AppError(
        code="VALIDATION_FAILED",
        message="提交的内容有误。",
        kind=ErrorKind.INVALID,
        details={"fields": [{"field": "rectifications[1].due_on", "message": "整改期限应晚于验收日期"}]},
    )
    assert spec.place_errors(row, form="decide", known_fields=known).fields == {
        "rect.2.due_on": "整改期限应晚于验收日期"
    }
    late = AppError(
        code="RECTIFICATION_TOO_LATE",
        message="整改期限不得晚于2027-01-01。",
        kind=ErrorKind.PRECONDITION,
        details={"index": 0},
        cite=["wuxing-2023 §21"],
    )
    assert spec.place_errors(late, form="decide", known_fields=known).fields == {
        "rect.1.due_on": "整改期限不得晚于2027-01-01。（依据：wuxing-2023 §21）"
    }


def test_an_evidence_refusal_lands_on_its_row_and_the_schedule_is_read_line_by_line() -> None:
    known = names(spec.evidence_fields("mlps", "等保测评报告"))
    err = AppError(code="MLPS_LEVEL_REQUIRED", message="请填写等保级别。", kind=ErrorKind.INVALID)
    placed = spec.place_errors(err, form="apply", known_fields=known, prefix="mlps.")
    assert placed.fields == {"mlps.level": "请填写等保级别。"}
    errors = FormErrors()
    lines = spec.parse_schedule("需求确认 2026-05-01\n\n系统上线 2026-13-01\n2026-06-01", errors=errors)
    assert lines == [spec.ScheduleLine("需求确认", "2026-05-01")]
    assert errors.fields["schedule"] == "“系统上线 2026-13-01”应写为：节点名称 YYYY-MM-DD"
