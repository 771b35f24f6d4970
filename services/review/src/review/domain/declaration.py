"""What review knows about a declaration: a snapshot taken from intake's events (never intake's tables).

The snapshot is what the formal review checks and what the policy facts are derived from. It is
rebuilt from ``declaration.submitted`` and replaced on ``declaration.resubmitted``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

# Fields of the declaration form the formal review can check (the pack's plan_fields codes).
TEXT_FIELDS = ("necessity", "goals", "content", "performance_goals", "funding_source")


@dataclass(frozen=True)
class Material:
    """One document attached to a declaration or an approval application (metadata; intake or the
    object store keeps the bytes)."""

    doc_type: str
    filename: str
    sha256: str
    size: int
    content_type: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the database and the APIs."""
        return {
            "doc_type": self.doc_type,
            "filename": self.filename,
            "sha256": self.sha256,
            "size": self.size,
            "content_type": self.content_type,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Material:
        """From the JSON form (unknown keys ignored)."""
        return cls(
            doc_type=str(data.get("doc_type", "")),
            filename=str(data.get("filename", "")),
            sha256=str(data.get("sha256", "")),
            size=int(data.get("size", 0) or 0),
            content_type=str(data.get("content_type", "")),
        )


@dataclass(frozen=True)
class DeclarationSnapshot:
    """The declaration as intake last published it."""

    declaration_id: str
    tenant_id: str
    org_id: str
    name: str
    amount: Decimal
    category: str = ""
    construction_type: str = ""
    project_code: str = ""
    submitted_by: str = ""
    submitted_at: str = ""
    supplementary: bool = False
    target_year: int | None = None
    call_id: str = ""
    org_name: str = ""
    org_type: str = ""
    breakdown: Any = None
    funding_source: str = ""
    cloud_deployment: Any = None
    mlps_level: Any = None
    cross_department: bool | None = None
    public_facing: bool | None = None
    public_video: bool | None = None
    goods_and_services_only: bool | None = None
    crypto_plan: Any = None
    designer_org: str = ""
    materials: tuple[Material, ...] = ()
    findings: tuple[dict[str, Any], ...] = ()
    round: int = 1
    provincial_code: str = ""
    performance_goals: str = ""
    content: str = ""
    goals: str = ""
    necessity: str = ""
    late_route: str = ""
    plan_year: int | None = None
    supplementary_approved_by: str = ""
    funds_secured: bool = False
    simple: bool | None = None
    emergency: bool | None = None
    construction_unit: str = ""
    contact: str = ""
    citations: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def plan_target_year(self) -> int | None:
        """The plan year the declaration is for (intake's plan_year, else its target year)."""
        return self.plan_year or self.target_year

    # ---- the formal review's view -------------------------------------------------------------

    def document_types(self) -> frozenset[str]:
        """The document types attached."""
        return frozenset(m.doc_type for m in self.materials if m.doc_type)

    def has_field(self, code: str) -> bool:
        """Whether the form field ``code`` is filled in (blank text and empty lists are not)."""
        if code == "breakdown":
            return _filled(self.breakdown)
        if code in TEXT_FIELDS:
            return bool(str(getattr(self, code) or "").strip())
        value = self.extra.get(code)
        return bool(str(value).strip()) if value is not None else False

    # ---- policy facts (POLICY-CONTRACT.md "Facts") ---------------------------------------------

    def facts(self, *, tenant_level: str | None, amount: Decimal | None = None) -> dict[str, Any]:
        """The policy facts this declaration gives; ``amount`` overrides the declared amount (the
        planned budget once the project is in the plan)."""
        facts: dict[str, Any] = {"amount": amount if amount is not None else self.amount}
        if self.category:
            facts["category"] = self.category
        elif self.cross_department:
            facts["category"] = "cross_department"
        if self.construction_type:
            facts["construction_type"] = self.construction_type
        if self.goods_and_services_only is not None:
            facts["goods_and_services_only"] = self.goods_and_services_only
        if self.public_facing is not None:
            facts["public_facing"] = self.public_facing
        if self.simple is not None:
            facts["simple"] = self.simple
        if self.emergency is not None:
            facts["emergency"] = self.emergency
        if tenant_level:
            facts["tenant_level"] = tenant_level
        return facts

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the case row."""
        return {
            "declaration_id": self.declaration_id,
            "tenant_id": self.tenant_id,
            "org_id": self.org_id,
            "name": self.name,
            "amount": str(self.amount),
            "category": self.category,
            "construction_type": self.construction_type,
            "project_code": self.project_code,
            "submitted_by": self.submitted_by,
            "submitted_at": self.submitted_at,
            "supplementary": self.supplementary,
            "target_year": self.target_year,
            "call_id": self.call_id,
            "org_name": self.org_name,
            "org_type": self.org_type,
            "breakdown": self.breakdown,
            "funding_source": self.funding_source,
            "cloud_deployment": self.cloud_deployment,
            "mlps_level": self.mlps_level,
            "cross_department": self.cross_department,
            "public_facing": self.public_facing,
            "public_video": self.public_video,
            "goods_and_services_only": self.goods_and_services_only,
            "crypto_plan": self.crypto_plan,
            "designer_org": self.designer_org,
            "materials": [m.to_dict() for m in self.materials],
            "findings": list(self.findings),
            "round": self.round,
            "provincial_code": self.provincial_code,
            "performance_goals": self.performance_goals,
            "content": self.content,
            "goals": self.goals,
            "necessity": self.necessity,
            "late_route": self.late_route,
            "plan_year": self.plan_year,
            "supplementary_approved_by": self.supplementary_approved_by,
            "funds_secured": self.funds_secured,
            "simple": self.simple,
            "emergency": self.emergency,
            "construction_unit": self.construction_unit,
            "contact": self.contact,
            "citations": list(self.citations),
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeclarationSnapshot:
        """From the case row's JSON."""
        return from_payload(data)

    def with_amount(self, amount: Decimal) -> DeclarationSnapshot:
        """A copy with another amount (tests, corrections)."""
        return replace(self, amount=amount)


def _filled(value: Any) -> bool:
    """A breakdown is filled in when some part of it carries a non-zero amount (or text)."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, Mapping):
        if "amount" in value and len(value) == 1:
            return _amount(value) != 0
        return any(_filled(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_filled(v) for v in value)
    if isinstance(value, int | float | Decimal):
        return value != 0
    return bool(value)


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


def _bool(data: Mapping[str, Any], key: str, *, proto: bool = True) -> bool | None:
    # proto3 JSON leaves out false: an absent yes/no field of the intake contract is "no".
    value = data.get(key)
    if value is None or value == "":
        return False if proto else None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


def _int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _amount(value: Any) -> Decimal:
    if isinstance(value, Mapping):
        value = value.get("amount")
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def from_payload(data: Mapping[str, Any]) -> DeclarationSnapshot:
    """A snapshot from a ``DeclarationSubmitted`` payload (proto JSON with field names kept).

    Read as a mapping, not through the generated class, so that fields intake adds later are
    picked up as soon as they are sent and absent ones default (additive evolution). proto3 JSON
    omits false, zero and empty values, so an absent yes/no field reads as "no".
    """
    citations = tuple(
        str(c.get("ref", "")) if isinstance(c, Mapping) else str(c) for c in data.get("citations") or []
    )
    materials = tuple(Material.from_dict(m) for m in data.get("materials") or [] if isinstance(m, Mapping))
    findings = tuple(dict(f) for f in data.get("findings") or [] if isinstance(f, Mapping))
    return DeclarationSnapshot(
        declaration_id=_text(data, "declaration_id"),
        tenant_id=_text(data, "tenant_id"),
        org_id=_text(data, "org_id"),
        name=_text(data, "name"),
        amount=_amount(data.get("amount")),
        category=_text(data, "category"),
        construction_type=_text(data, "construction_type"),
        project_code=_text(data, "project_code"),
        submitted_by=_text(data, "submitted_by"),
        submitted_at=_text(data, "submitted_at"),
        supplementary=bool(_bool(data, "supplementary")),
        target_year=_int(data, "target_year") or None,
        call_id=_text(data, "call_id"),
        org_name=_text(data, "org_name"),
        org_type=_text(data, "org_type"),
        breakdown=data.get("breakdown"),
        funding_source=_text(data, "funding_source"),
        cloud_deployment=data.get("cloud_deployment"),
        mlps_level=data.get("mlps_level"),
        cross_department=_bool(data, "cross_department"),
        public_facing=_bool(data, "public_facing"),
        public_video=_bool(data, "public_video"),
        goods_and_services_only=_bool(data, "goods_and_services_only"),
        crypto_plan=data.get("crypto_plan"),
        designer_org=_text(data, "designer_org"),
        materials=materials,
        findings=findings,
        round=_int(data, "round") or 1,
        provincial_code=_text(data, "provincial_code"),
        performance_goals=_text(data, "performance_goals"),
        content=_text(data, "content"),
        goals=_text(data, "goals"),
        necessity=_text(data, "necessity"),
        late_route=_text(data, "late_route"),
        plan_year=_int(data, "plan_year") or None,
        supplementary_approved_by=_text(data, "supplementary_approved_by"),
        funds_secured=bool(_bool(data, "funds_secured")),
        simple=_bool(data, "simple"),
        emergency=_bool(data, "emergency"),
        construction_unit=_text(data, "construction_unit"),
        contact=_text(data, "contact"),
        citations=tuple(c for c in citations if c),
        extra=dict(data.get("extra") or {}),
    )
