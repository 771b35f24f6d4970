"""govkit.policy: policy packs (rules as data) and the engine that applies them.

Services call :func:`evaluate` for the contract keys and the helper functions for what intake and
review need beyond them; they never compare an amount with a literal. Typical use::

    registry = PolicyRegistry.load(settings.policies_dir)   # or PolicyRegistry.load()
    pack = resolve_pack("county-a", date(2025, 3, 1), registry=registry)
    reqs = evaluate(pack, {"amount": 3_000_000, "category": "business_app"})
    reqs["supervision_required"].value, reqs["supervision_required"].cite
"""

from govkit.policy.evaluate import (
    FactsError,
    PlanSlot,
    Requirement,
    Requirements,
    acceptance_checklist,
    call_calendar,
    evaluate,
    evaluation_indicators,
    obligations,
    opinions,
    parse_facts,
    plan_slot,
    pre_review_date,
    prohibited_types,
    prohibition,
    quotas,
    review_criteria,
    review_process,
)
from govkit.policy.loader import (
    POLICIES_DIR_ENV,
    PackLoadError,
    PolicyError,
    PolicyRegistry,
    UnknownPackError,
    default_policies_dir,
    load_pack,
)
from govkit.policy.model import REQUIREMENT_KEYS, Facts, Pack
from govkit.policy.resolution import (
    DocumentNumberError,
    PolicyResolutionError,
    Resolution,
    Tenant,
    format_document_number,
    get_tenant,
    may_review,
    resolve,
    resolve_pack,
    reviewing_tenant,
)

__all__ = [
    "POLICIES_DIR_ENV",
    "REQUIREMENT_KEYS",
    "DocumentNumberError",
    "Facts",
    "FactsError",
    "Pack",
    "PackLoadError",
    "PlanSlot",
    "PolicyError",
    "PolicyRegistry",
    "PolicyResolutionError",
    "Requirement",
    "Requirements",
    "Resolution",
    "Tenant",
    "UnknownPackError",
    "acceptance_checklist",
    "call_calendar",
    "default_policies_dir",
    "evaluate",
    "evaluation_indicators",
    "format_document_number",
    "get_tenant",
    "load_pack",
    "may_review",
    "obligations",
    "opinions",
    "parse_facts",
    "plan_slot",
    "pre_review_date",
    "prohibited_types",
    "prohibition",
    "quotas",
    "resolve",
    "resolve_pack",
    "review_criteria",
    "review_process",
    "reviewing_tenant",
]
