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


def test_review_s_pool_too_small_lands_beside_the_panel_size() -> None:
    err = AppError(
        code="EXPERT_POOL_TOO_SMALL",
        message="符合回避条件的专家仅2人，不足抽取3人。",
        kind=ErrorKind.PRECONDITION,
        details={"eligible": 2, "requested": 3},
    )
    placed = spec.place_errors(err, form="panel", known_fields=names(spec.PANEL))
    assert placed.fields == {"size": "符合回避条件的专家仅2人，不足抽取3人。"}


def test_extension_refusals_without_field_details_land_on_their_fields() -> None:
    known = names(spec.EXTENSION)
    reason = AppError(
        code="EXTENSION_REASON_REQUIRED", message="请写明延期验收的理由。", kind=ErrorKind.INVALID
    )
    assert spec.place_errors(reason, form="extension", known_fields=known).fields == {
        "reason": "请写明延期验收的理由。"
    }
    day = AppError(
        code="EXTENSION_DATE_INVALID",
        message="延期后的申请日期应晚于原定期限和今天。",
        kind=ErrorKind.INVALID,
    )
    assert set(spec.place_errors(day, form="extension", known_fields=known).fields) == {"requested_until"}
    # A pack without extensions is not a field's: above the form (the entrypoint adds the deadline).
    none = AppError(
        code="EXTENSION_NOT_PROVIDED",
        message="本地区管理办法未规定延期验收申请。",
        kind=ErrorKind.PRECONDITION,
    )
    placed = spec.place_errors(none, form="extension", known_fields=known)
    assert placed.fields == {} and placed.message == "本地区管理办法未规定延期验收申请。"


def test_intervention_grounds_are_the_services_with_their_articles_and_resumption_only_when_suspended() -> (
    None
):
    grounds = [
        {
            "code": "force_majeure",
            "label_zh": "项目因不可抗力无法完成",
            "citations": [{"ref": "qiaokou-2022 §27(1)"}],
        },
        {"code": "poor_execution", "label_zh": "项目执行不力", "citations": [{"ref": "qiaokou-2022 §27(3)"}]},
    ]
    kind, ground, reason = spec.intervention_fields("construction", grounds)
    assert [k for k, _ in kind.options] == ["suspension", "termination"]
    assert ground.options == (
        ("", "（请选择）"),
        ("force_majeure", "项目因不可抗力无法完成（qiaokou-2022 §27(1)）"),
        ("poor_execution", "项目执行不力（qiaokou-2022 §27(3)）"),
    )
    assert reason.required
    assert [k for k, _ in spec.intervention_fields("suspended", grounds)[0].options] == [
        "resumption",
        "termination",
    ]
    unknown = AppError(
        code="UNKNOWN_SUSPENSION_GROUND",
        message="该地区管理办法未规定此暂停（终止）情形。",
        kind=ErrorKind.PRECONDITION,
    )
    placed = spec.place_errors(unknown, form="intervention", known_fields={"kind", "ground", "reason"})
    assert placed.fields == {"ground": "该地区管理办法未规定此暂停（终止）情形。"}


def test_an_extension_decision_refused_lands_beside_its_field() -> None:
    known = names(spec.EXTENSION_DECISION)
    assert known == {"decision", "note"}
    note = AppError(
        code="EXTENSION_NOTE_REQUIRED", message="不同意延期时须写明理由。", kind=ErrorKind.INVALID
    )
    assert spec.place_errors(note, form="extension_decision", known_fields=known).fields == {
        "note": "不同意延期时须写明理由。"
    }
    gone = AppError(
        code="NO_EXTENSION_PENDING", message="没有待审核的延期验收申请。", kind=ErrorKind.PRECONDITION
    )
    assert spec.place_errors(gone, form="extension_decision", known_fields=known).fields == {
        "decision": "没有待审核的延期验收申请。"
    }
