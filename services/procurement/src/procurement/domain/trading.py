"""The trading center's OCDS releases (公共资源交易中心): what a release says about a project's
procurement, and where it disagrees with what the platform knows.

A release is matched to a project by ``planning.budget.projectID`` (the project code) or by its
``ocid`` once a procurement carries it. Its award and contract prefill the filing; differences
between the release and the approval or the filed contract are reported to the bureau.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from govkit import credit_code
from procurement.domain.procurement import METHOD_BY_ZH, Method

# OCDS tender.procurementMethod (method.csv) when the details give no Chinese method name.
OCDS_METHOD = {
    "open": Method.OPEN_TENDER,
    "selective": Method.INVITED_TENDER,
    "limited": Method.COMPETITIVE_NEGOTIATION,
    "direct": Method.SINGLE_SOURCE,
}
CURRENCY = "CNY"


class ReleaseError(ValueError):
    """A release whose content the platform cannot use (a date or amount it cannot read)."""


@dataclass(frozen=True)
class ReleaseFacts:
    """What procurement uses of one release."""

    ocid: str
    release_id: str
    released_at: datetime
    tags: tuple[str, ...]
    project_code: str
    method: Method | None
    tender_title: str
    supplier_name: str
    supplier_credit_code: str
    award_amount: Decimal | None
    contract_id: str
    contract_amount: Decimal | None
    signed_on: date | None
    period_start: date | None
    period_end: date | None
    currency: str = CURRENCY

    def prefill(self) -> dict[str, Any]:
        """The filing fields this release fills (JSON)."""
        out: dict[str, Any] = {"ocid": self.ocid, "release_id": self.release_id}
        for key, value in (
            ("method", self.method.value if self.method else None),
            ("title", self.tender_title),
            ("contract_no", self.contract_id),
            ("supplier_name", self.supplier_name),
            ("supplier_credit_code", self.supplier_credit_code),
            ("amount", str(self.contract_amount) if self.contract_amount is not None else None),
            ("award_amount", str(self.award_amount) if self.award_amount is not None else None),
            ("signed_on", self.signed_on.isoformat() if self.signed_on else None),
            ("period_start", self.period_start.isoformat() if self.period_start else None),
            ("period_end", self.period_end.isoformat() if self.period_end else None),
        ):
            if value:
                out[key] = value
        return out


@dataclass(frozen=True)
class Mismatch:
    """A difference the bureau is told about."""

    kind: str  # "amount" | "supplier" | "date" | "currency" | "credit_code"
    path: str
    release_value: str
    platform_value: str
    message: str
    cite: tuple[str, ...] = ()


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _amount(value: Any, where: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ReleaseError(f"{where}: not an amount") from None
    if not amount.is_finite() or amount < 0:
        raise ReleaseError(f"{where}: not an amount")
    return amount.quantize(Decimal("0.01"))


def _day(value: Any, where: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        raise ReleaseError(f"{where}: not an ISO 8601 date-time") from None


def _method(tender: Mapping[str, Any]) -> Method | None:
    details = _text(tender.get("procurementMethodDetails"))
    for zh, method in METHOD_BY_ZH.items():
        if zh in details:
            return method
    return OCDS_METHOD.get(_text(tender.get("procurementMethod")))


def _party_code(release: Mapping[str, Any], party_id: str) -> str:
    """The unified social credit code of a party (its identifier, or an additional identifier)."""
    for party in release.get("parties") or []:
        if not isinstance(party, Mapping) or _text(party.get("id")) != party_id:
            continue
        candidates = [party.get("identifier") or {}, *(party.get("additionalIdentifiers") or [])]
        for ident in candidates:
            code = _text(_get(ident, "id")).upper()
            if len(code) == credit_code.LENGTH:
                return code
    return ""


def facts(release: Mapping[str, Any]) -> ReleaseFacts:
    """What a schema-valid release says (its last award and contract are the ones in force)."""
    tender = release.get("tender") or {}
    awards = [a for a in release.get("awards") or [] if isinstance(a, Mapping)]
    contracts = [c for c in release.get("contracts") or [] if isinstance(c, Mapping)]
    award = awards[-1] if awards else {}
    contract = contracts[-1] if contracts else {}
    if contract and awards:
        award = next((a for a in awards if _text(a.get("id")) == _text(contract.get("awardID"))), award)
    suppliers = [s for s in award.get("suppliers") or [] if isinstance(s, Mapping)]
    supplier = suppliers[0] if suppliers else {}
    supplier_code = _party_code(release, _text(supplier.get("id"))) if supplier else ""
    if not supplier_code:
        supplier_code = _text(_get(supplier, "identifier", "id")).upper()
    currencies = {
        _text(_get(x, "value", "currency")) for x in (award, contract) if _get(x, "value", "currency")
    }
    try:
        released = datetime.fromisoformat(str(release["date"]).replace("Z", "+00:00"))
    except ValueError:
        raise ReleaseError("date: not an ISO 8601 date-time") from None
    return ReleaseFacts(
        ocid=_text(release["ocid"]),
        release_id=_text(release["id"]),
        released_at=released,
        tags=tuple(str(t) for t in release.get("tag") or ()),
        project_code=_text(_get(release, "planning", "budget", "projectID")),
        method=_method(tender) if isinstance(tender, Mapping) else None,
        tender_title=_text(tender.get("title")) if isinstance(tender, Mapping) else "",
        supplier_name=_text(supplier.get("name")),
        supplier_credit_code=supplier_code,
        award_amount=_amount(_get(award, "value", "amount"), "awards/value/amount"),
        contract_id=_text(contract.get("id")),
        contract_amount=_amount(_get(contract, "value", "amount"), "contracts/value/amount"),
        signed_on=_day(contract.get("dateSigned"), "contracts/dateSigned"),
        period_start=_day(_get(contract, "period", "startDate"), "contracts/period/startDate"),
        period_end=_day(_get(contract, "period", "endDate"), "contracts/period/endDate"),
        currency=next(iter(currencies))
        if len(currencies) == 1
        else (CURRENCY if not currencies else "MIXED"),
    )


@dataclass(frozen=True)
class Known:
    """What the platform knows of the project and its filed contract."""

    approved_amount: Decimal
    approved_on: date
    valid_until: date | None
    approval_cite: tuple[str, ...]
    filed_supplier_name: str = ""
    filed_credit_code: str = ""
    filed_amount: Decimal | None = None
    filed_signed_on: date | None = None


def mismatches(f: ReleaseFacts, known: Known, *, amount_cite: Sequence[str] = ()) -> list[Mismatch]:
    """Where the release and the platform disagree (amount, supplier, dates)."""
    out: list[Mismatch] = []
    if f.currency != CURRENCY:
        out.append(
            Mismatch("currency", "value.currency", f.currency, CURRENCY, "交易中心数据的币种不是人民币")
        )
    if f.contract_amount is not None and f.contract_amount > known.approved_amount:
        out.append(
            Mismatch(
                "amount",
                "contracts.value.amount",
                str(f.contract_amount),
                str(known.approved_amount),
                "交易中心合同金额超过项目批复金额",
                tuple(amount_cite),
            )
        )
    if f.award_amount is not None and f.contract_amount is not None and f.award_amount != f.contract_amount:
        out.append(
            Mismatch(
                "amount",
                "awards.value.amount",
                str(f.award_amount),
                str(f.contract_amount),
                "中标（成交）金额与合同金额不一致",
            )
        )
    if f.supplier_credit_code and credit_code.problem(f.supplier_credit_code) is not None:
        out.append(
            Mismatch(
                "credit_code",
                "parties.identifier.id",
                f.supplier_credit_code,
                "",
                "交易中心数据中的供应商统一社会信用代码校验不通过",
            )
        )
    if (
        known.filed_amount is not None
        and f.contract_amount is not None
        and f.contract_amount != known.filed_amount
    ):
        out.append(
            Mismatch(
                "amount",
                "contracts.value.amount",
                str(f.contract_amount),
                str(known.filed_amount),
                "交易中心合同金额与备案合同金额不一致",
            )
        )
    if (
        known.filed_credit_code
        and f.supplier_credit_code
        and f.supplier_credit_code != known.filed_credit_code
    ):
        out.append(
            Mismatch(
                "supplier",
                "awards.suppliers",
                f"{f.supplier_name} {f.supplier_credit_code}",
                f"{known.filed_supplier_name} {known.filed_credit_code}",
                "交易中心供应商与备案合同供应商不一致",
            )
        )
    if known.filed_signed_on and f.signed_on and f.signed_on != known.filed_signed_on:
        out.append(
            Mismatch(
                "date",
                "contracts.dateSigned",
                f.signed_on.isoformat(),
                known.filed_signed_on.isoformat(),
                "交易中心合同签订日期与备案合同不一致",
            )
        )
    if f.signed_on is not None:
        outside = f.signed_on < known.approved_on or (
            known.valid_until is not None and f.signed_on > known.valid_until
        )
        if outside:
            until = known.valid_until.isoformat() if known.valid_until else ""
            window = f"{known.approved_on.isoformat()}至{until}"
            out.append(
                Mismatch(
                    "date",
                    "contracts.dateSigned",
                    f.signed_on.isoformat(),
                    window,
                    "合同签订日期不在项目批复有效期内",
                    known.approval_cite,
                )
            )
    if f.period_start and f.period_end and f.period_end < f.period_start:
        out.append(
            Mismatch(
                "date",
                "contracts.period",
                f"{f.period_start}~{f.period_end}",
                "",
                "合同工期结束日期早于开始日期",
            )
        )
    return out
