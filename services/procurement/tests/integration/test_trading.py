"""The trading center over the real PostgreSQL: an OCDS 1.1 release package (a realistic sample in
tests/data) imported, matched to its project by project code and then by ocid, the procurement
begun and its filing prefilled, the same releases again changing nothing, mismatches reported."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from govkit.errors import AppError
from procurement.domain.procurement import ProcurementStatus
from procurement.service import ProcurementDeps
from procurement.service import procurements as procurement_service
from procurement.service import projects as project_service
from procurement.service import trading as trading_service

from .conftest import CONTRACTOR
from .test_filing import upload_all

pytestmark = pytest.mark.integration

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "ocds-release-package.json"
CODE = "2025-230522-65-01-000123"
OCID = "ocds-213czf-230522-2025-0042"


def sample() -> dict[str, Any]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


async def test_import_matches_begins_prefills_and_the_unit_files_from_the_prefill(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    tenant = tenants.qiaokou
    declaration_id = await h.grant(deps, tenant, code=CODE)
    bureau = h.who(tenant, "bureau_reviewer", org="bureau")
    body = json.dumps(sample(), ensure_ascii=False).encode()
    report = await trading_service.import_package(deps=deps, principal=bureau, body=body)
    assert (report.received, report.matched, report.unmatched, report.duplicates) == (4, 3, 1, 0)
    assert report.procurements_started == 1 and report.mismatches == 0 and report.invalid == 0
    started = await h.outbox(deps.uow, tenant, "govproj.procurement.v1.procurement.started")
    assert len(started) == 1 and started[0]["payload"]["method"] == "open_tender"

    unit = h.who(tenant, "applicant")
    view = await project_service.get_project(deps=deps, principal=unit, declaration_id=declaration_id)
    [procurement] = view.procurements
    assert procurement.ocid == OCID and procurement.status is ProcurementStatus.SIGNED
    assert procurement.signed_on is not None and procurement.signed_on.isoformat() == "2025-03-03"
    assert procurement.prefill["supplier_credit_code"] == CONTRACTOR
    assert (
        procurement.prefill["amount"] == "750000.00"
        and procurement.prefill["contract_no"] == "YXHT-2025-0042"
    )

    again = await trading_service.import_package(deps=deps, principal=bureau, body=body)
    assert (again.received, again.duplicates, again.matched, again.procurements_started) == (4, 4, 0, 0)
    after = await project_service.get_project(deps=deps, principal=unit, declaration_id=declaration_id)
    assert after.procurements[0].version == procurement.version  # nothing changed
    assert len(await h.outbox(deps.uow, tenant, "govproj.procurement.v1.procurement.started")) == 1

    await upload_all(deps, h, tenant, procurement.id)
    current = await procurement_service.get_procurement(
        deps=deps, principal=unit, procurement_id=procurement.id
    )
    filing = await procurement_service.file_with_prefill(
        deps=deps,
        principal=unit,
        procurement_id=procurement.id,
        given={},
        warranty_months=36,
        ip_clause="定制软件知识产权归建设单位。",
        termination_clause="严重违约可解除合同。",
        schedule=(),
        expected_version=current.procurement.version,
    )
    assert filing.source == "ocds" and filing.terms.amount == Decimal("750000.00")
    assert filing.terms.supplier_name == "示范市智城信息技术有限公司" and not filing.overdue

    releases = await trading_service.list_releases(deps=deps, principal=bureau, ocid=None, limit=50, offset=0)
    assert sorted(r["outcome"] for r in releases) == ["matched", "matched", "matched", "unmatched"]


async def test_mismatches_are_reported_to_the_bureau_and_invalid_releases_refused(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    tenant = tenants.qiaokou
    declaration_id = await h.grant(deps, tenant, code=CODE, amount="700000.00")
    package = sample()
    contract_release = copy.deepcopy(package["releases"][2])
    contract_release["id"] += "-amended"
    contract_release["contracts"][0]["value"]["amount"] = 760000.00
    broken = copy.deepcopy(package["releases"][3])
    broken["id"] = "broken"
    broken["tag"] = ["bogus"]
    package["releases"] = [package["releases"][0], contract_release, broken]
    bureau = h.who(tenant, "bureau_head", org="bureau")
    report = await trading_service.import_package(
        deps=deps, principal=bureau, body=json.dumps(package, ensure_ascii=False).encode()
    )
    assert (report.matched, report.invalid) == (2, 1)
    assert report.errors[0]["release_id"] == "broken" and "tag/0" in report.errors[0]["errors"][0]
    found = await trading_service.list_mismatches(
        deps=deps, principal=bureau, declaration_id=declaration_id, limit=50, offset=0
    )
    messages = {m["message"] for m in found}
    assert "交易中心合同金额超过项目批复金额" in messages
    assert "中标（成交）金额与合同金额不一致" in messages
    over = next(m for m in found if m["message"] == "交易中心合同金额超过项目批复金额")
    assert over["release_value"] == "760000.00" and over["platform_value"] == "700000.00"
    assert "qiaokou-2022 §22" in over["cite"]
    with pytest.raises(AppError) as unit_cannot:
        await trading_service.list_mismatches(
            deps=deps, principal=h.who(tenant, "applicant"), declaration_id=None, limit=50, offset=0
        )
    assert unit_cannot.value.code == "FORBIDDEN"


async def test_a_package_that_breaks_the_package_schema_is_refused_whole(
    deps: ProcurementDeps, tenants: Any, h: Any
) -> None:
    package = sample()
    del package["publisher"]
    package["version"] = "1.0"
    with pytest.raises(AppError) as caught:
        await trading_service.import_package(
            deps=deps,
            principal=h.who(tenants.qiaokou, "bureau_head", org="bureau"),
            body=json.dumps(package).encode(),
        )
    assert caught.value.code == "OCDS_PACKAGE_INVALID"
    assert any("publisher" in e for e in caught.value.details["errors"])
