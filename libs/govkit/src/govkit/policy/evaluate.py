"""Evaluating a pack against the facts of a project.

The engine is generic: it walks the pack's rules (cases with conditions on facts, first match
wins) and reports each contract key with its value and citations. There is no jurisdiction name,
threshold or deadline in this module; a pack with other numbers gives other answers.

Conditions use three-valued logic: a test on a fact the caller did not give is *unknown*, and
``all``/``any`` only stay unknown when the known parts cannot decide (``any`` of true and unknown is
true). A rule whose first undecided case is unknown answers ``value: null`` with ``needs``.
"""

from __future__ import annotations

import calendar
import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from govkit.policy.loader import PolicyError
from govkit.policy.model import (
    REQUIREMENT_KEYS,
    Announced,
    Condition,
    Facts,
    LabelledItem,
    MonthDay,
    Pack,
    Rule,
)

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_HUNDRED = Decimal(100)
_DAYS_PER_WEEK = 7


class FactsError(PolicyError, ValueError):
    """The facts are not valid: an unknown key, a wrong type or a missing required fact."""


@dataclass(frozen=True)
class Requirement:
    """One contract key's answer: the value, the articles it rests on, the facts it still needs."""

    value: Any
    cite: list[str]
    needs: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The contract's JSON form; ``needs`` only appears when a fact is missing."""
        body: dict[str, Any] = {"value": _jsonable(self.value), "cite": list(self.cite)}
        if self.needs:
            body["needs"] = list(self.needs)
        return body


@dataclass(frozen=True)
class Requirements(Mapping[str, Requirement]):
    """Every contract key for one pack and one set of facts."""

    pack: str
    by_key: dict[str, Requirement]

    def __getitem__(self, key: str) -> Requirement:
        return self.by_key[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_key)

    def __len__(self) -> int:
        return len(self.by_key)

    def value(self, key: str) -> Any:
        """Shorthand for ``self[key].value``."""
        return self.by_key[key].value

    def to_json(self) -> dict[str, Any]:
        """``{"pack": id, "requirements": {key: {value, cite[, needs]}}}`` as in the contract."""
        return {"pack": self.pack, "requirements": {k: r.to_json() for k, r in self.by_key.items()}}


def parse_facts(facts: Facts | Mapping[str, Any]) -> Facts:
    """Validate facts: unknown keys and wrong types are :class:`FactsError`, never ignored."""
    if isinstance(facts, Facts):
        return facts
    if not isinstance(facts, Mapping):
        raise FactsError(f"facts must be a JSON object, got {type(facts).__name__}")
    try:
        return Facts.model_validate(dict(facts))
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            key = ".".join(str(p) for p in err["loc"]) or "facts"
            if err["type"] == "extra_forbidden":
                problems.append(f"unknown fact {key!r}")
            elif err["type"] == "missing":
                problems.append(f"missing required fact {key!r}")
            else:
                msg = str(err["msg"]).removeprefix("Value error, ")
                problems.append(f"fact {key!r}: {msg}")
        raise FactsError("; ".join(problems)) from exc


class _Evaluator:
    """Evaluates conditions of one pack on one set of facts, remembering which facts it used."""

    def __init__(self, pack: Pack, facts: Facts) -> None:
        self.pack = pack
        self.facts = facts.known()
        self.defaulted: dict[str, list[str]] = {}
        # Defaults the document itself sets (e.g. "原则上由数据局统一建设"), cited when used.
        for name, default in pack.fact_defaults.items():
            if name not in self.facts:
                self.facts[name] = default.value
                self.defaulted[name] = list(default.cite)
        self.used: set[str] = set()

    def test(self, cond: Condition) -> tuple[bool | None, set[str]]:
        """(True | False | None for unknown, the missing facts that made it unknown)."""
        if cond.all_ is not None:
            return self._combine(cond.all_, decisive=False)
        if cond.any_ is not None:
            return self._combine(cond.any_, decisive=True)
        if cond.not_ is not None:
            result, missing = self.test(cond.not_)
            return (None if result is None else not result), missing
        return self._fact_test(cond)

    def _combine(self, parts: list[Condition], *, decisive: bool) -> tuple[bool | None, set[str]]:
        # Kleene logic: for any() a True part decides, for all() a False part decides.
        missing: set[str] = set()
        unknown = False
        for part in parts:
            result, part_missing = self.test(part)
            if result is decisive:
                return decisive, set()
            if result is None:
                unknown = True
                missing |= part_missing
        return (None, missing) if unknown else (not decisive, set())

    def _fact_test(self, cond: Condition) -> tuple[bool | None, set[str]]:
        names = [cond.fact] if cond.fact is not None else list(cond.sum_ or [])
        if cond.of is not None:
            names.append(cond.of)
        missing: set[str] = {n for n in names if n not in self.facts}
        if missing:
            return None, missing
        self.used.update(names)
        if cond.is_ is not None:
            return self.facts[cond.fact or ""] is cond.is_, set()
        if cond.in_ is not None:
            return self.facts[cond.fact or ""] in cond.in_, set()
        left: Decimal = (
            Decimal(self.facts[cond.fact])
            if cond.fact is not None
            else sum((Decimal(self.facts[n]) for n in cond.sum_ or []), Decimal(0))
        )
        if cond.amount is not None:
            right = cond.amount
        elif cond.number is not None:
            right = Decimal(cond.number)
        else:
            # "超过 10%": the share is computed exactly in Decimal, never rounded.
            right = (cond.percent or Decimal(0)) * Decimal(self.facts[cond.of or ""]) / _HUNDRED
        return _OPS[cond.op or "=="](left, right), set()

    def rule(self, rule: Rule[Any]) -> Requirement:
        """The first case whose condition holds decides; an unknown condition on the way stops."""
        self.used = set()
        for case in rule.cases:
            if case.when is not None:
                result, missing = self.test(case.when)
                if result is None:
                    return Requirement(None, self.pack.cite(list(rule.cite)), sorted(missing))
                if not result:
                    continue
            articles = list(case.cite or rule.cite)
            if case.value_from_fact is not None:
                if case.value_from_fact not in self.facts:
                    return Requirement(None, self.pack.cite(articles), [case.value_from_fact])
                self.used.add(case.value_from_fact)
                value: Any = self.facts[case.value_from_fact]
            else:
                value = case.value
            for name in sorted(self.used & set(self.defaulted)):
                articles += self.defaulted[name]
            return Requirement(_normalize(value), self.pack.cite(articles))
        # No case applies to these facts: the document sets no rule for them.
        return Requirement(None, [])

    def applies(self, when: Condition | None) -> tuple[bool | None, list[str]]:
        """Whether an item with an optional condition applies to these facts."""
        if when is None:
            return True, []
        result, missing = self.test(when)
        return result, sorted(missing)


def _normalize(value: Any) -> Any:
    """Lists of codes are sorted (the contract's rule); models become plain JSON objects."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python", by_alias=True)
    if isinstance(value, list):
        items = [_normalize(v) for v in value]
        if all(isinstance(v, str) for v in items) or all(isinstance(v, list) for v in items):
            return sorted(items)
        return items
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def evaluate(pack: Pack, facts: Facts | Mapping[str, Any]) -> Requirements:
    """Every contract key for ``facts`` under ``pack``, whatever today's date.

    Keys the pack has no rule for are ``value: None`` with no citation ("no rule here", never
    "false"). Raises :class:`FactsError` for invalid facts.
    """
    evaluator = _Evaluator(pack, parse_facts(facts))
    items: dict[str, Requirement] = {}
    for key in REQUIREMENT_KEYS:
        rule: Rule[Any] | None = getattr(pack.rules, key)
        items[key] = Requirement(None, []) if rule is None else evaluator.rule(rule)
    return Requirements(pack=pack.id, by_key=items)


# --------------------------------------------------------------------------------------------
# What intake and review ask beyond the contract keys
# --------------------------------------------------------------------------------------------


def _items(
    pack: Pack, items: list[LabelledItem], facts: Facts | Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    evaluator = _Evaluator(pack, parse_facts(facts)) if facts is not None else None
    out = []
    for item in items:
        row: dict[str, Any] = {
            "code": item.code,
            "label_zh": item.label_zh,
            "cite": pack.cite(list(item.cite)),
        }
        if item.note:
            row["note"] = item.note
        if evaluator is not None:
            applies, needs = evaluator.applies(item.when)
            row["applies"] = applies
            if needs:
                row["needs"] = needs
        elif item.when is not None:
            row["conditional"] = True
        out.append(row)
    return out


def prohibited_types(pack: Pack) -> list[dict[str, Any]]:
    """Declaration types the pack's document forbids: ``[{code, label_zh, cite}]``.

    Intake rejects a declaration flagged with one of these codes and cites the articles.
    """
    return _items(pack, pack.prohibited_types, None)


def prohibition(pack: Pack, code: str) -> dict[str, Any] | None:
    """The prohibition with that code under this pack, or None when this pack does not forbid it."""
    return next((p for p in prohibited_types(pack) if p["code"] == code), None)


def review_criteria(pack: Pack, stage: str | None = None) -> list[dict[str, Any]]:
    """Review criteria (e.g. qiaokou §18 ten items) with Chinese labels and citations.

    Codes are prefixed by stage in the pack (``plan_`` for the annual plan review); ``stage``
    filters on that prefix when given.
    """
    rows = _items(pack, pack.review_criteria, None)
    return [r for r in rows if stage is None or r["code"].startswith(f"{stage}_")]


def acceptance_checklist(pack: Pack, facts: Facts | Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Conditions for acceptance; with facts each item says whether it ``applies`` (or ``needs``)."""
    return _items(pack, pack.acceptance_checklist, facts)


def evaluation_indicators(pack: Pack) -> list[dict[str, Any]]:
    """Performance-evaluation dimensions (e.g. wuxing §28, qiaokou §40) with Chinese labels."""
    return _items(pack, pack.evaluation_indicators, None)


def opinions(pack: Pack, facts: Facts | Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The departments giving opinions in the joint review, what each reviews, with citations."""
    evaluator = _Evaluator(pack, parse_facts(facts)) if facts is not None else None
    out = []
    for op in pack.opinions:
        row: dict[str, Any] = {
            "department": op.department,
            "reviews_zh": op.reviews_zh,
            "cite": pack.cite(list(op.cite)),
        }
        if evaluator is not None:
            applies, needs = evaluator.applies(op.when)
            row["applies"] = applies
            if needs:
                row["needs"] = needs
        out.append(row)
    return out


def obligations(
    pack: Pack, code: str | None = None, facts: Facts | Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Other rules with their parameters as data (IP clauses, delay limits, O&M blocks ...).

    With ``facts`` each row also says whether its ``when`` ``applies`` (or what it ``needs``), as
    :func:`acceptance_checklist` does.
    """
    evaluator = _Evaluator(pack, parse_facts(facts)) if facts is not None else None
    out = []
    for ob in pack.obligations:
        if code is not None and ob.code != code:
            continue
        row: dict[str, Any] = {
            "code": ob.code,
            "label_zh": ob.label_zh,
            "cite": pack.cite(list(ob.cite)),
            "params": dict(ob.params),
        }
        if evaluator is not None:
            applies, needs = evaluator.applies(ob.when)
            row["applies"] = applies
            if needs:
                row["needs"] = needs
        out.append(row)
    return out


def review_process(pack: Pack, facts: Facts | Mapping[str, Any]) -> dict[str, Any]:
    """The joint-review settings for these facts (the pack's ``review_process`` section).

    ``plan_documents`` and ``opinion_workdays`` are :class:`Requirement` answers like the contract
    keys (value None without a rule); ``plan_fields`` lists the declaration fields the formal
    review checks, each with ``applies`` for these facts.
    """
    process = pack.review_process
    evaluator = _Evaluator(pack, parse_facts(facts))
    none = Requirement(None, [])
    return {
        "plan_documents": none if process.plan_documents is None else evaluator.rule(process.plan_documents),
        "plan_fields": _items(pack, process.plan_fields, facts),
        "opinion_workdays": (
            none if process.opinion_workdays is None else evaluator.rule(process.opinion_workdays)
        ),
    }


def quotas(pack: Pack, facts: Facts | Mapping[str, Any]) -> dict[str, Requirement]:
    """Declaration quotas for these facts (``max_declarations_per_org_per_year``)."""
    reqs = evaluate(pack, facts)
    return {"max_declarations_per_org_per_year": reqs["max_declarations_per_org_per_year"]}


def call_calendar(pack: Pack) -> dict[str, Any]:
    """The annual call as data: each part with its articles; parts the document omits are absent."""
    out: dict[str, Any] = {}
    cal = pack.call_calendar
    for name in type(cal).model_fields:
        part = getattr(cal, name)
        if part is None:
            continue
        body = part.model_dump(mode="json", by_alias=True, exclude_none=True)
        body["cite"] = pack.cite(list(part.cite))
        out[name] = body
    return out


def pre_review_date(pack: Pack, year: int, month: int) -> date | None:
    """The monthly pre-review day of ``year``-``month`` (lhasa §7 第四周星期四), None without one.

    ``calendar_rows`` counts weeks as the Monday-to-Sunday rows of a wall calendar: week 1 holds
    the 1st of the month. ``nth_weekday`` counts occurrences of the weekday. When the requested
    week does not reach the weekday inside the month, there is no such day (None).
    """
    rule = pack.call_calendar.monthly_pre_review
    if rule is None:
        return None
    first = date(year, month, 1)
    last_day = calendar.monthrange(year, month)[1]
    if rule.week_counting == "calendar_rows":
        week1_monday = first - timedelta(days=first.isoweekday() - 1)
        day = week1_monday + timedelta(weeks=rule.week_of_month - 1, days=rule.weekday - 1)
        if day < first:
            return None
    else:
        offset = (rule.weekday - first.isoweekday()) % _DAYS_PER_WEEK
        day = first + timedelta(days=offset, weeks=rule.week_of_month - 1)
    return day if day.month == month and day.day <= last_day else None


@dataclass(frozen=True)
class PlanSlot:
    """Where a declaration made on a given day goes: a plan year, or another route."""

    route: str  # "annual_plan" | "plan_after_next" | "supplementary_only" | "not_accepted" | "unknown"
    plan_year: int | None
    cite: list[str]

    def to_json(self) -> dict[str, Any]:
        """JSON form for the CLI and REST."""
        return {"route": self.route, "plan_year": self.plan_year, "cite": list(self.cite)}


def plan_slot(pack: Pack, declared_on: date) -> PlanSlot:
    """The annual plan a declaration made on ``declared_on`` is considered for.

    On or before the yearly deadline: next year's plan. After it: what the pack's
    ``late_declarations`` says (lhasa §7: the plan after next; wuxing §7: the supplementary route
    only). A deadline the bureau announces each year cannot be computed here: ``route: unknown``.
    """
    cal = pack.call_calendar
    deadline = cal.declaration_deadline
    if deadline is None:
        return PlanSlot("unknown", None, [])
    if isinstance(deadline, Announced):
        return PlanSlot("unknown", None, pack.cite(list(deadline.cite)))
    assert isinstance(deadline, MonthDay)
    last_day = calendar.monthrange(declared_on.year, deadline.month)[1]
    cutoff = date(declared_on.year, deadline.month, min(deadline.day, last_day))
    if declared_on <= cutoff:
        return PlanSlot("annual_plan", declared_on.year + 1, pack.cite(list(deadline.cite)))
    late = cal.late_declarations
    if late is None:
        return PlanSlot("unknown", None, pack.cite(list(deadline.cite)))
    articles = list(deadline.cite) + list(late.cite)
    if late.route == "plan_after_next":
        return PlanSlot(late.route, declared_on.year + 2, pack.cite(articles))
    return PlanSlot(late.route, None, pack.cite(articles))
