"""Pydantic models of a policy pack and of the facts it is evaluated against.

A pack is data: every threshold, deadline and department lives in ``policies/<id>.yaml`` and is
read through these models (strict, ``extra="forbid"`` everywhere), so a typo in a pack is a loading
error and never a silent default. The model knows the *shape* of the contract
(POLICY-CONTRACT.md: fact names and types, requirement keys and their value types); it knows no
jurisdiction.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    model_validator,
)

# --------------------------------------------------------------------------------------------
# Scalars
# --------------------------------------------------------------------------------------------

_ARTICLE_RE = re.compile(r"^[1-9][0-9]*(\([1-9][0-9]*\))?$")
_PACK_ID_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# Amounts may be written as in the source documents: 500000, "500000.00", "50万", "1亿".
_AMOUNT_RE = re.compile(r"^(?P<num>[0-9]+(\.[0-9]+)?)(?P<unit>万|亿)?$")
_UNITS = {None: Decimal(1), "万": Decimal(10_000), "亿": Decimal(100_000_000)}


def _parse_amount(raw: object) -> Decimal:
    """Amounts in a pack: an integer or a decimal string (optionally 万/亿), never a float."""
    if isinstance(raw, bool | float):
        # A float cannot represent money exactly; packs must write "0.1" as a string or use 万.
        raise ValueError(f"bad amount {raw!r}: write an integer or a string such as '50万'")
    if isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, str):
        match = _AMOUNT_RE.match(raw.strip())
        if match is None:
            raise ValueError(f"bad amount {raw!r}: expected digits optionally followed by 万 or 亿")
        value = Decimal(match["num"]) * _UNITS[match["unit"]]
    else:
        raise ValueError(f"bad amount {raw!r}")
    if value < 0:
        raise ValueError(f"bad amount {raw!r}: must not be negative")
    return value


def _article_text(raw: object) -> object:
    # ``cite: [17]`` reads naturally in YAML; an int article is the same as "17".
    return str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw


def _check_article(raw: str) -> str:
    if not _ARTICLE_RE.match(raw):
        raise ValueError(f"bad article {raw!r}: expected e.g. '17' or '8(6)'")
    return raw


def _check_code(raw: str) -> str:
    if not _CODE_RE.match(raw):
        raise ValueError(f"bad code {raw!r}: lower_snake_case expected")
    return raw


def _check_pack_id(raw: str) -> str:
    if not _PACK_ID_RE.match(raw):
        raise ValueError(f"bad pack id {raw!r}: lower-case words joined by '-' expected")
    return raw


def _check_percent(raw: Decimal) -> Decimal:
    if raw > Decimal(100):
        raise ValueError(f"bad percent {raw}: must be between 0 and 100")
    return raw


Amount = Annotated[Decimal, BeforeValidator(_parse_amount)]
Percent = Annotated[Decimal, BeforeValidator(_parse_amount), AfterValidator(_check_percent)]
Article = Annotated[str, BeforeValidator(_article_text), AfterValidator(_check_article)]
Articles = Annotated[list[Article], Field(min_length=1)]
Code = Annotated[str, AfterValidator(_check_code)]
PackId = Annotated[str, AfterValidator(_check_pack_id)]
NonEmptyStr = Annotated[str, Field(min_length=1)]


class StrictModel(BaseModel):
    """Base of every pack model: strict types, unknown keys rejected, immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=False)


# --------------------------------------------------------------------------------------------
# Facts (POLICY-CONTRACT.md, "Facts")
# --------------------------------------------------------------------------------------------


def _parse_fact_amount(raw: object) -> Decimal:
    """Facts come from JSON (numbers) or Python callers; strings and booleans are wrong types."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
        raise ValueError(f"expected a number, got {type(raw).__name__}")
    # str() first: Decimal(0.1) would carry the binary error of the float into the money.
    value = Decimal(str(raw)) if isinstance(raw, float) else Decimal(raw)
    if not value.is_finite():
        raise ValueError("expected a finite number")
    if value < 0:
        raise ValueError("must not be negative")
    return value


FactAmount = Annotated[Decimal, BeforeValidator(_parse_fact_amount)]
Category = Literal["infrastructure", "cross_department", "business_app", "om_service", "other"]
ConstructionType = Literal["new", "upgrade", "expansion", "om"]
TenantLevel = Literal["city", "county"]


class Facts(StrictModel):
    """The facts of one project; only ``amount`` is required (POLICY-CONTRACT.md)."""

    amount: FactAmount
    category: Category | None = None
    construction_type: ConstructionType | None = None
    goods_and_services_only: bool | None = None
    simple: bool | None = None
    emergency: bool | None = None
    public_facing: bool | None = None
    contract_amount: FactAmount | None = None
    change_amount: FactAmount | None = None
    cumulative_change_amount: FactAmount | None = None
    org_budget_units: NonNegativeInt | None = None
    tenant_level: TenantLevel | None = None
    built_by_bureau: bool | None = None
    major_content_change: bool | None = None
    approved_amount: FactAmount | None = None

    def known(self) -> dict[str, Any]:
        """The facts that were given, with the contract's one default (approved_amount = amount)."""
        values = {k: v for k, v in self.model_dump().items() if v is not None}
        values.setdefault("approved_amount", self.amount)
        return values


FactName = Literal[
    "amount",
    "category",
    "construction_type",
    "goods_and_services_only",
    "simple",
    "emergency",
    "public_facing",
    "contract_amount",
    "change_amount",
    "cumulative_change_amount",
    "org_budget_units",
    "tenant_level",
    "built_by_bureau",
    "major_content_change",
    "approved_amount",
]
# Fact kinds, so a condition comparing a bool with an amount fails at load time, not at evaluation.
AMOUNT_FACTS = frozenset(
    {"amount", "contract_amount", "change_amount", "cumulative_change_amount", "approved_amount"}
)
INTEGER_FACTS = frozenset({"org_budget_units"})
BOOL_FACTS = frozenset(
    {
        "goods_and_services_only",
        "simple",
        "emergency",
        "public_facing",
        "built_by_bureau",
        "major_content_change",
    }
)
ENUM_FACTS: dict[str, frozenset[str]] = {
    "category": frozenset(get_args(Category)),
    "construction_type": frozenset(get_args(ConstructionType)),
    "tenant_level": frozenset(get_args(TenantLevel)),
}

# --------------------------------------------------------------------------------------------
# Conditions
# --------------------------------------------------------------------------------------------

Op = Literal["<", "<=", ">", ">=", "==", "!="]


class Condition(StrictModel):
    """A test on the facts. Exactly one form:

    - ``all: [...]`` / ``any: [...]`` / ``not: {...}``
    - ``fact: amount, op: ">=", amount: "50万"`` (amount facts)
    - ``fact: org_budget_units, op: ">", number: 3`` (integer facts)
    - ``fact: change_amount, op: ">", percent: 10, of: approved_amount`` (share of another fact)
    - ``sum: [cumulative_change_amount, change_amount], op: "<=", percent: 15, of: approved_amount``
    - ``fact: goods_and_services_only, is: false`` (bool facts)
    - ``fact: category, in: [cross_department]`` (enum facts)
    """

    all_: list[Condition] | None = Field(default=None, alias="all", min_length=1)
    any_: list[Condition] | None = Field(default=None, alias="any", min_length=1)
    not_: Condition | None = Field(default=None, alias="not")
    fact: FactName | None = None
    sum_: list[FactName] | None = Field(default=None, alias="sum", min_length=2)
    op: Op | None = None
    amount: Amount | None = None
    number: NonNegativeInt | None = None
    percent: Percent | None = None
    of: FactName | None = None
    is_: bool | None = Field(default=None, alias="is")
    in_: list[str] | None = Field(default=None, alias="in", min_length=1)

    @model_validator(mode="after")
    def _one_form(self) -> Condition:
        forms = [
            self.all_ is not None,
            self.any_ is not None,
            self.not_ is not None,
            self.fact is not None or self.sum_ is not None,
        ]
        if sum(forms) != 1:
            raise ValueError("a condition has exactly one of all / any / not / fact / sum")
        if self.fact is not None and self.sum_ is not None:
            raise ValueError("use either fact or sum, not both")
        if self.fact is None and self.sum_ is None:
            tests = (self.op, self.amount, self.number, self.percent, self.is_, self.in_)
            if any(x is not None for x in tests):
                raise ValueError("op/amount/number/percent/is/in belong to a fact or sum test")
            return self
        self._check_test()
        return self

    def _check_test(self) -> None:
        names = [self.fact] if self.fact is not None else list(self.sum_ or [])
        tests = [
            self.amount is not None,
            self.number is not None,
            self.percent is not None,
            self.is_ is not None,
            self.in_ is not None,
        ]
        if sum(tests) != 1:
            raise ValueError("a fact test has exactly one of amount / number / percent / is / in")
        if (self.percent is None) != (self.of is None):
            raise ValueError("percent and of go together")
        numeric = self.amount is not None or self.number is not None or self.percent is not None
        if numeric and self.op is None:
            raise ValueError("a numeric test needs op")
        if not numeric and self.op is not None:
            raise ValueError("op is only for amount / number / percent tests")
        if self.amount is not None or self.percent is not None:
            bad = [n for n in names if n not in AMOUNT_FACTS]
            if bad or (self.of is not None and self.of not in AMOUNT_FACTS):
                raise ValueError(f"amount/percent tests need amount facts, not {bad or [self.of]}")
        if self.number is not None and any(n not in INTEGER_FACTS for n in names):
            raise ValueError(f"number tests need integer facts ({sorted(INTEGER_FACTS)})")
        if self.sum_ is not None and not (self.amount is not None or self.percent is not None):
            raise ValueError("sum is only for amount / percent tests")
        if self.is_ is not None and self.fact not in BOOL_FACTS:
            raise ValueError(f"is: needs a yes/no fact, {self.fact!r} is not one")
        if self.in_ is not None:
            allowed = ENUM_FACTS.get(self.fact or "")
            if allowed is None:
                raise ValueError(f"in: needs an enumerated fact ({sorted(ENUM_FACTS)})")
            unknown = sorted(set(self.in_) - allowed)
            if unknown:
                raise ValueError(f"unknown values {unknown} for {self.fact}; allowed: {sorted(allowed)}")


# --------------------------------------------------------------------------------------------
# Rules for the contract keys
# --------------------------------------------------------------------------------------------

T = TypeVar("T")

Approver = Literal["tech_center", "bureau"]
NdrcDocument = Literal["project_proposal", "contact_sheet", "feasibility_study", "preliminary_design"]
Document = Literal[
    "application_form",
    "feasibility_study",
    "technical_scheme",
    "preliminary_design",
    "crypto_plan",
    "pre_performance_assessment",
    "implementation_plan",
    "resource_catalog",
]
Department = Literal["reform", "finance", "cyberspace", "crypto", "police", "ndrc"]
AcceptanceOrganizer = Literal[
    "unit",
    "unit_with_bureau_supervision",
    "unit_with_bureau_spot_check",
    "bureau",
    "department_with_bureau",
]


class FinalAcceptanceWithin(StrictModel):
    """Final acceptance is applied for within ``months`` of ``from``."""

    months: PositiveInt
    from_: Literal["initial_acceptance", "completion"] = Field(alias="from")


class FinancialReview(StrictModel):
    """Who reviews the final accounts after acceptance, and within how many months."""

    by: Literal["bureau_financial_review", "audit"]
    within_months: PositiveInt


MonthWindow = Annotated[list[NonNegativeInt], Field(min_length=2, max_length=2)]


class Case(StrictModel, Generic[T]):
    """One branch of a rule: when the condition holds (or always, without ``when``), the value."""

    when: Condition | None = None
    value: T | None = None
    value_from_fact: Literal["org_budget_units"] | None = None
    cite: list[Article] | None = Field(default=None, min_length=1)
    note: str | None = None

    @model_validator(mode="after")
    def _one_value(self) -> Case[T]:
        has_value = "value" in self.model_fields_set
        if has_value == (self.value_from_fact is not None):
            raise ValueError("a case has exactly one of value / value_from_fact")
        return self


class Rule(StrictModel, Generic[T]):
    """A requirement rule: cases tried in order, the first whose condition holds decides.

    ``cite`` names the articles of the rule as a whole; it is what a missing fact points at and
    what a case without its own ``cite`` reports.
    """

    cite: Articles
    cases: list[Case[T]] = Field(min_length=1)
    note: str | None = None


class Rules(StrictModel):
    """One optional rule per contract key; a key left out means "the document sets no rule"."""

    approver: Rule[Approver] | None = None
    ndrc_documents: Rule[list[NdrcDocument]] | None = None
    alternative_documents: Rule[list[list[Document]]] | None = None
    required_documents: Rule[list[Document]] | None = None
    city_review_required: Rule[bool] | None = None
    opinion_departments: Rule[list[Department]] | None = None
    review_sla_workdays: Rule[dict[Code, PositiveInt]] | None = None
    max_review_rounds: Rule[PositiveInt] | None = None
    approval_validity_months: Rule[PositiveInt] | None = None
    max_declarations_per_org_per_year: Rule[NonNegativeInt] | None = None
    change_requires_rereview: Rule[bool] | None = None
    contract_filing_workdays: Rule[PositiveInt] | None = None
    supervision_required: Rule[bool] | None = None
    warranty_min_years: Rule[PositiveInt] | None = None
    trial_run_min_months: Rule[PositiveInt] | None = None
    third_party_acceptance_test: Rule[bool] | None = None
    acceptance_organizer: Rule[AcceptanceOrganizer] | None = None
    acceptance_filing_workdays: Rule[PositiveInt] | None = None
    final_acceptance_within_months: Rule[FinalAcceptanceWithin] | None = None
    rectification_months: Rule[PositiveInt] | None = None
    financial_review: Rule[FinancialReview] | None = None
    self_evaluation_window_months: Rule[MonthWindow] | None = None
    evaluation_start_workdays: Rule[PositiveInt] | None = None
    om_funding_blocked_years: Rule[PositiveInt] | None = None


REQUIREMENT_KEYS: tuple[str, ...] = tuple(Rules.model_fields)

# --------------------------------------------------------------------------------------------
# What intake and review need beyond the contract keys
# --------------------------------------------------------------------------------------------


class FactDefault(StrictModel):
    """A default the *document* sets for a fact the caller did not give (e.g. shuangyashan §8)."""

    value: bool | str
    cite: Articles
    note: str | None = None


class LabelledItem(StrictModel):
    """A coded item with its Chinese label and articles (criteria, indicators, prohibitions)."""

    code: Code
    label_zh: NonEmptyStr
    cite: Articles
    when: Condition | None = None
    note: str | None = None


class Opinion(StrictModel):
    """A department that gives an opinion in the joint review, and what it reviews."""

    department: Department
    reviews_zh: NonEmptyStr
    cite: Articles
    when: Condition | None = None


# Left to right: a YAML integer stays an int (a count of days), "50万" becomes an amount.
ParamValue = Annotated[bool | int | Amount | str, Field(union_mode="left_to_right")]


class Obligation(StrictModel):
    """Any other rule a service must apply, with its parameters as data (never literals in code)."""

    code: Code
    label_zh: NonEmptyStr
    cite: Articles
    params: dict[Code, ParamValue] = Field(default_factory=dict)
    when: Condition | None = None


class MonthDay(StrictModel):
    """A yearly date such as 31 August."""

    month: Annotated[int, Field(ge=1, le=12)]
    day: Annotated[int, Field(ge=1, le=31)]
    cite: Articles
    note: str | None = None


class MonthOnly(StrictModel):
    """Something that happens in a month of the year (the call in August)."""

    month: Annotated[int, Field(ge=1, le=12)]
    cite: Articles
    note: str | None = None


class Months(StrictModel):
    """A period in months (the plan is valid for 12 months)."""

    months: PositiveInt
    cite: Articles
    note: str | None = None


class Announced(StrictModel):
    """A date the bureau announces each year instead of a fixed one (wuxing §7)."""

    set_by: Literal["bureau"]
    cite: Articles
    note: str | None = None


WeekCounting = Literal["calendar_rows", "nth_weekday"]


class MonthlyPreReview(StrictModel):
    """A monthly pre-review day, e.g. lhasa §7 第四周星期四.

    ``week_counting``: ``calendar_rows`` — week 1 is the Monday–Sunday week holding the 1st of the
    month, as the rows of a wall calendar (so 第四周星期四 is the 3rd Thursday when the month
    starts on Friday–Sunday); ``nth_weekday`` — the n-th occurrence of the weekday in the month.
    """

    week_of_month: Annotated[int, Field(ge=1, le=5)]
    weekday: Annotated[int, Field(ge=1, le=7)]  # ISO: 1 = Monday … 7 = Sunday
    week_counting: WeekCounting
    cite: Articles
    note: str | None = None


LateRoute = Literal["plan_after_next", "supplementary_only", "not_accepted"]


class LateDeclarations(StrictModel):
    """What happens to a declaration after the deadline."""

    route: LateRoute
    cite: Articles
    note: str | None = None


class Supplementary(StrictModel):
    """Projects outside the annual call (计划外/增补) and who must sign them off."""

    approved_by: Literal["city_government", "district_government", "bureau"]
    requires_secured_funds: bool
    cite: Articles
    note: str | None = None


class CallCalendar(StrictModel):
    """The annual call: when needs are collected, the deadline, pre-reviews, late declarations."""

    call_month: MonthOnly | None = None
    declaration_deadline: MonthDay | Announced | None = None
    review_done_by: MonthDay | None = None
    plan_published_by: MonthDay | None = None
    monthly_pre_review: MonthlyPreReview | None = None
    late_declarations: LateDeclarations | None = None
    plan_validity: Months | None = None
    plan_extension_max: Months | None = None
    supplementary: Supplementary | None = None


class ReviewProcess(StrictModel):
    """How the joint review runs, beyond the contract keys (read by the review service).

    ``plan_documents``: what a declaration must carry for the plan review's formal check (the
    approval stage uses ``required_documents``); ``plan_fields``: the parts of the declaration form
    the formal review checks are filled in (codes are the declaration's field names:
    ``necessity``, ``goals``, ``content``, ``performance_goals``, ``breakdown``,
    ``funding_source``); ``opinion_workdays``: how long a department has for its opinion.
    """

    plan_documents: Rule[list[Document]] | None = None
    plan_fields: list[LabelledItem] = Field(default_factory=list)
    opinion_workdays: Rule[PositiveInt] | None = None

    @model_validator(mode="after")
    def _unique_fields(self) -> ReviewProcess:
        codes = [f.code for f in self.plan_fields]
        if len(codes) != len(set(codes)):
            raise ValueError("duplicate codes in plan_fields")
        return self


class Jurisdiction(StrictModel):
    """Who issued the document."""

    name_zh: NonEmptyStr
    level: Literal["city", "county"]
    province_zh: NonEmptyStr


class Pack(StrictModel):
    """A policy pack: one jurisdiction's measures, one version."""

    id: PackId
    title: NonEmptyStr
    doc_number: NonEmptyStr | None
    jurisdiction: Jurisdiction
    effective_from: date
    effective_until: date | None
    supersedes: PackId | None
    source: NonEmptyStr
    fact_defaults: dict[Literal["built_by_bureau"], FactDefault] = Field(default_factory=dict)
    rules: Rules
    prohibited_types: list[LabelledItem] = Field(default_factory=list)
    call_calendar: CallCalendar = Field(default_factory=CallCalendar)
    review_criteria: list[LabelledItem] = Field(default_factory=list)
    opinions: list[Opinion] = Field(default_factory=list)
    acceptance_checklist: list[LabelledItem] = Field(default_factory=list)
    evaluation_indicators: list[LabelledItem] = Field(default_factory=list)
    obligations: list[Obligation] = Field(default_factory=list)
    review_process: ReviewProcess = Field(default_factory=ReviewProcess)

    @model_validator(mode="after")
    def _dates(self) -> Pack:
        if self.effective_until is not None and self.effective_until < self.effective_from:
            raise ValueError("effective_until is before effective_from")
        if self.supersedes == self.id:
            raise ValueError("a pack cannot supersede itself")
        coded = ("prohibited_types", "review_criteria", "acceptance_checklist", "evaluation_indicators")
        for field_name in coded:
            items: list[LabelledItem] = getattr(self, field_name)
            codes = [i.code for i in items]
            if len(codes) != len(set(codes)):
                raise ValueError(f"duplicate codes in {field_name}")
        return self

    def covers(self, on: date) -> bool:
        """Whether the pack is in force on ``on`` by its own dates (supersession aside)."""
        return self.effective_from <= on and (self.effective_until is None or on <= self.effective_until)

    def cite(self, articles: list[str]) -> list[str]:
        """Citations in the contract form ``"<pack id> §<article>"``, sorted, without duplicates."""
        return sorted({f"{self.id} §{a}" for a in articles})
