"""The back half of a project's life on its page: procurement, acceptance, evaluation, O&M funds.

Reads only, each with the user's token, concurrently; every part may fail on its own (a service
down, or a stage the project has not reached) and the page then says so in that part.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from govkit.errors import AppError, ErrorKind
from govproj.acceptance.v1 import acceptance_pb2
from govproj.evaluation.v1 import evaluation_pb2
from govproj.procurement.v1 import procurement_pb2
from portal.adapters.backend import Backend
from portal.service import Section, as_dict


@dataclass
class BackHalf:
    """What procurement, acceptance and evaluation hold about one declaration."""

    procurement: Section = field(default_factory=Section)
    acceptance: Section = field(default_factory=Section)
    portfolio: Section = field(default_factory=Section)
    evaluations: Section = field(default_factory=Section)
    orders: Section = field(default_factory=Section)
    om_requests: Section = field(default_factory=Section)

    def unavailable(self) -> list[tuple[str, AppError]]:
        """(part, error) of the parts whose service did not answer."""
        parts = {
            "采购与建设": self.procurement,
            "验收": self.acceptance,
            "项目全景": self.portfolio,
            "绩效评价": self.evaluations,
            "整改通知": self.orders,
            "运维经费": self.om_requests,
        }
        return [(label, part.error) for label, part in parts.items() if part.error and part.unavailable]


async def _part(coro: Any) -> Section:
    """A part's data; None when the project has not reached that stage (or is not the user's to
    see there); the error kept when the service is down or refused otherwise."""
    try:
        return Section(data=await coro)
    except AppError as err:
        if err.kind in (ErrorKind.NOT_FOUND, ErrorKind.FORBIDDEN):
            return Section(data=None)
        return Section(error=err)


async def back_half(*, backend: Backend, token: str, declaration_id: str) -> BackHalf:
    """The back-half parts of the project page (each service read concurrently)."""

    async def read(service: str, method: Any, request: Any) -> dict[str, Any]:
        return as_dict(await backend.call(service, method, request, token=token))

    async def om_requests() -> list[dict[str, Any]]:
        # OmFundingService lists the caller's visible requests; the page keeps this project's.
        listed = await read(
            "evaluation", backend.om_funding.ListRequests, evaluation_pb2.ListOmRequestsRequest()
        )
        return [r for r in listed.get("requests", []) if r.get("declaration_id") == declaration_id]

    parts = await asyncio.gather(
        _part(
            read(
                "procurement",
                backend.procurement.GetProject,
                procurement_pb2.GetProjectRequest(declaration_id=declaration_id),
            )
        ),
        _part(
            read(
                "acceptance",
                backend.acceptance.GetProjectByDeclaration,
                acceptance_pb2.GetProjectByDeclarationRequest(declaration_id=declaration_id),
            )
        ),
        _part(
            read(
                "evaluation",
                backend.portfolio.GetProject,
                evaluation_pb2.GetProjectRequest(declaration_id=declaration_id),
            )
        ),
        _part(
            read(
                "evaluation",
                backend.evaluations.ListEvaluations,
                evaluation_pb2.ListEvaluationsRequest(declaration_id=declaration_id),
            )
        ),
        _part(
            read(
                "evaluation",
                backend.rectifications.ListOrders,
                evaluation_pb2.ListOrdersRequest(declaration_id=declaration_id),
            )
        ),
        _part(om_requests()),
    )
    return BackHalf(*parts)
