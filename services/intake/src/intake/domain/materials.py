"""Materials (申报材料): uploaded files of a declaration. The bytes live in the object store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import get_args

from govkit.errors import AppError, ErrorKind
from govkit.policy.model import Document

# The document types the policy packs can require, plus what a declaration commonly carries besides.
POLICY_DOC_TYPES: tuple[str, ...] = tuple(get_args(Document))
DOC_TYPES: tuple[str, ...] = (*POLICY_DOC_TYPES, "budget_estimate", "government_approval", "other")
DOC_TYPE_LABELS_ZH: dict[str, str] = {
    "application_form": "项目申报表",
    "feasibility_study": "可行性研究报告",
    "technical_scheme": "技术方案",
    "preliminary_design": "初步设计",
    "crypto_plan": "密码应用方案",
    "pre_performance_assessment": "事前绩效评估报告",
    "implementation_plan": "实施方案",
    "resource_catalog": "数据资源目录",
    "budget_estimate": "投资估算表",
    "government_approval": "政府批准文件",
    "other": "其他材料",
}


@dataclass(frozen=True)
class Material:
    """One uploaded file of a declaration."""

    id: str
    tenant_id: str
    declaration_id: str
    org_id: str
    doc_type: str
    filename: str
    content_type: str
    size: int
    sha256: str
    storage_key: str
    uploaded_by: str
    uploaded_at: datetime


def check_doc_type(doc_type: str) -> str:
    """A known document type, or a validation error listing the allowed ones."""
    if doc_type not in DOC_TYPES:
        raise AppError(
            code="VALIDATION_FAILED",
            message="提交的内容有误，请按提示修改后重试。",
            kind=ErrorKind.INVALID,
            details={
                "fields": [{"field": "doc_type", "message": "材料类型不在允许范围内"}],
                "allowed": list(DOC_TYPES),
            },
        )
    return doc_type


def storage_key(*, tenant_id: str, declaration_id: str, material_id: str, sha256: str) -> str:
    """Where a material's bytes are kept: chosen by intake, never from the user's file name."""
    return f"{tenant_id}/declarations/{declaration_id}/{material_id}-{sha256[:16]}"
