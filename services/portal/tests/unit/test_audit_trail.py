"""审计记录: the services' trails merged by time, and the table with the articles and a service down."""

from __future__ import annotations

from typing import Any

from portal.adapters.backend import service_unavailable
from portal.audit_trail import AuditTrail, merge

from .test_templates import render


def _record(at: str, action: str, entity: str, *cite: str, **more: Any) -> dict[str, Any]:
    return {
        "occurred_at": at,
        "actor": "unit_head.unit-1",
        "action": action,
        "entity_type": entity,
        "entity_id": "e",
        "from_state": more.get("from_state", ""),
        "to_state": more.get("to_state", ""),
        "citations": [{"ref": c} for c in cite],
        "sealed": more.get("sealed", True),
        "seq": 1,
    }


def test_services_merged_by_time_in_local_time_ties_in_lifecycle_order() -> None:
    merged = merge(
        {
            "review": [
                _record("2026-03-02T02:00:00+00:00", "case.opened", "case"),
                _record("2026-03-05T01:00:00+00:00", "approval.granted", "approval", "wuxing-2023 §20"),
            ],
            "intake": [
                _record("2026-03-01T23:30:00+00:00", "declaration.created", "declaration"),
                _record("2026-03-02T02:00:00+00:00", "declaration.submitted", "declaration"),
            ],
        }
    )
    assert [r["action"] for r in merged] == [
        "declaration.created",
        "declaration.submitted",
        "case.opened",
        "approval.granted",
    ]
    assert merged[0]["when"] == "2026-03-02 07:30:00" and merged[0]["service_zh"] == "项目申报服务"
    assert merged[3]["service"] == "review"


def test_table_shows_labels_states_articles_and_names_a_service_down() -> None:
    trail = AuditTrail(
        records=merge(
            {
                "intake": [
                    _record(
                        "2026-03-02T02:00:00+00:00",
                        "declaration.submitted",
                        "declaration",
                        "wuxing-2023 §7",
                        from_state="pending_signoff",
                        to_state="submitted",
                    )
                ],
                "review": [
                    _record("2026-03-05T01:00:00+00:00", "approval.granted", "approval", sealed=False)
                ],
            }
        ),
        unavailable=[("采购与建设服务", service_unavailable("procurement"))],
    )
    page = render("project_audit.html", audit=trail)
    assert "审计记录" in page and all(
        h in page for h in ("时间", "操作人", "操作", "对象", "状态变化", "依据")
    )
    assert "单位审核通过并报送" in page and "依据：wuxing-2023 §7" in page and "项目批复" in page
    assert "待单位审核 → 已提交" in page and "2026-03-02 10:00:00" in page and "（待封存）" in page
    assert "采购与建设服务的审计记录暂时无法读取" in page
    assert render("project_audit.html", audit=AuditTrail()).count("暂无审计记录") == 1
