"""Clients of other services. review's ExpertService draws acceptance panels from its library.

The call carries acceptance's own service-account token (client credentials,
govkit.auth.ServiceTokenProvider) and a deadline; the library's tenant is named in the request
because service tokens carry none. A draw is not retried (each one is recorded in review's
audit); an error review sends comes back as the same AppError.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from acceptance.service._common import DrawnExpert, DrawResult
from govkit.auth import ServiceTokenProvider
from govkit.errors import AppError, ErrorKind
from govkit.grpckit import create_channel, error_from_rpc_error
from govproj.review.v1 import experts_pb2, experts_pb2_grpc


class ReviewExpertClient:
    """:class:`acceptance.service._common.PanelDrawer` over review's gRPC."""

    def __init__(self, *, target: str, tokens: ServiceTokenProvider | None, timeout_seconds: float) -> None:
        self._target = target
        self._tokens = tokens
        self._timeout = timeout_seconds
        self._channel: grpc.aio.Channel | None = None

    def _stub(self) -> experts_pb2_grpc.ExpertServiceAsyncStub:
        # Built on first use, inside the running event loop (grpc.aio channels bind to it).
        if self._channel is None:
            self._channel = create_channel(
                self._target,
                idempotent_methods=[],
                default_timeout=self._timeout,
                token_provider=self._tokens,
            )
        return experts_pb2_grpc.ExpertServiceStub(self._channel)

    async def draw(
        self,
        *,
        tenant_id: str,
        purpose: str,
        reference_id: str,
        size: int,
        seed: str | None,
        specialty: str | None,
        declaring_orgs: Sequence[str],
        bidders: Sequence[str],
        requested_by: str,
    ) -> DrawResult:
        """Draw ``size`` experts avoiding the building unit's and the contractors' experts."""
        request = experts_pb2.DrawExpertsRequest(
            tenant_id=tenant_id,
            purpose=purpose,
            reference_id=reference_id,
            size=size,
            seed=seed or "",
            specialty=specialty or "",
            declaring_orgs=list(declaring_orgs),
            bidders=list(bidders),
            requested_by=requested_by,
        )
        try:
            response = await self._stub().DrawExperts(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            error = error_from_rpc_error(exc)
            if error.kind is ErrorKind.UNAVAILABLE or exc.code() is grpc.StatusCode.DEADLINE_EXCEEDED:
                raise AppError(
                    code="EXPERT_LIBRARY_UNAVAILABLE",
                    message="专家库暂时无法访问，请稍后重试抽取。",
                    kind=ErrorKind.UNAVAILABLE,
                    details={"status": exc.code().name},
                ) from exc
            raise error from exc
        return DrawResult(
            seed=response.seed,
            candidates=tuple(response.candidates),
            excluded=dict(response.excluded),
            experts=tuple(DrawnExpert(e.id, e.name, e.org) for e in response.drawn),
            reference=response.draw_id,
        )

    async def aclose(self) -> None:
        """Close the channel and the token provider's HTTP client."""
        if self._channel is not None:
            await self._channel.close(None)
            self._channel = None
        if self._tokens is not None:
            await self._tokens.aclose()
