"""One error shape for the whole platform.

Every failure a user can cause is an :class:`AppError` with a stable English ``code`` and a Chinese
``message`` a clerk understands. REST renders it as
``{"error": {"code", "message", "details", "cite"}}`` with the HTTP status; gRPC as a status code
with the same body in the trailing metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class ErrorKind(Enum):
    """What went wrong, independent of transport; maps to HTTP and gRPC status codes."""

    INVALID = "invalid"  # 400 / INVALID_ARGUMENT
    UNAUTHENTICATED = "unauthenticated"  # 401 / UNAUTHENTICATED
    FORBIDDEN = "forbidden"  # 403 / PERMISSION_DENIED
    NOT_FOUND = "not_found"  # 404 / NOT_FOUND
    CONFLICT = "conflict"  # 409 / ABORTED (stale version, duplicate)
    PRECONDITION = "precondition"  # 422 / FAILED_PRECONDITION (a rule refuses the action)
    UNAVAILABLE = "unavailable"  # 503 / UNAVAILABLE


HTTP_STATUS: dict[ErrorKind, int] = {
    ErrorKind.INVALID: 400,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.PRECONDITION: 422,
    ErrorKind.UNAVAILABLE: 503,
}


@dataclass
class AppError(Exception):
    """A failure the caller can understand and act on."""

    code: str
    message: str
    kind: ErrorKind = ErrorKind.INVALID
    details: dict[str, Any] = field(default_factory=dict)
    cite: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(f"{self.code}: {self.message}")

    @property
    def http_status(self) -> int:
        """The HTTP status this error is rendered with."""
        return HTTP_STATUS[self.kind]

    def to_body(self) -> dict[str, Any]:
        """The JSON body shared by REST responses and gRPC error details."""
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "details": self.details,
                "cite": list(self.cite),
            }
        }


def not_found(what: str, ident: object, *, label_zh: str) -> AppError:
    """A uniform 404: also used when the row exists but belongs to someone the caller may not see."""
    return AppError(
        code=f"{what.upper()}_NOT_FOUND",
        message=f"未找到该{label_zh}，或您无权查看。",
        kind=ErrorKind.NOT_FOUND,
        details={"id": str(ident)},
    )


def stale_version(what: str, *, expected: int | None, label_zh: str) -> AppError:
    """A uniform 409 for optimistic-locking conflicts."""
    return AppError(
        code="VERSION_CONFLICT",
        message=f"该{label_zh}已被他人修改，请刷新后重试。",
        kind=ErrorKind.CONFLICT,
        details={"resource": what, "expected_version": expected},
    )


def invalid_field(field: str, message: str) -> AppError:
    """VALIDATION_FAILED naming one field and what is wrong with it (Chinese, shown beside it)."""
    return AppError(
        code="VALIDATION_FAILED",
        message="提交的内容有误，请按提示修改后重试。",
        kind=ErrorKind.INVALID,
        details={"fields": [{"field": field, "message": message}]},
    )


def forbidden(action: str) -> AppError:
    """A uniform 403 for role checks."""
    return AppError(
        code="FORBIDDEN",
        message="您没有执行此操作的权限。",
        kind=ErrorKind.FORBIDDEN,
        details={"action": action},
    )
