"""The portal's gRPC calls over real sockets: the user's token travels, a service's refusal comes
back as its AppError, a message too large and a service down are said in Chinese."""

from __future__ import annotations

import json
from typing import Any

import grpc
import grpc.aio
import pytest

from govkit.errors import ErrorKind
from govkit.localinfra import free_port
from govproj.intake.v1 import intake_pb2, intake_pb2_grpc
from govproj.review.v1 import review_pb2
from portal.adapters.backend import Backend

pytestmark = pytest.mark.integration


class Intake(intake_pb2_grpc.DeclarationServiceServicer):
    """Refuses every read the way govkit's error interceptor does, echoing the caller's token."""

    async def GetDeclaration(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        token = dict(context.invocation_metadata())["authorization"]
        body = {
            "error": {
                "code": "DECLARATION_NOT_FOUND",
                "message": "未找到该申报，或您无权查看。",
                "details": {"token": token},
                "cite": ["wuxing-2023 §7"],
            }
        }
        await context.abort(
            grpc.StatusCode.NOT_FOUND,
            "未找到",
            trailing_metadata=(("govproj-error-bin", json.dumps(body).encode()),),
        )


async def test_calls_carry_the_token_and_errors_come_back_as_the_services() -> None:
    port = free_port()
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 1024)])
    intake_pb2_grpc.add_DeclarationServiceServicer_to_server(Intake(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    backend = Backend(
        intake_target=f"127.0.0.1:{port}", review_target=f"127.0.0.1:{free_port()}", timeout=2.0
    )
    try:
        with pytest.raises(Exception) as refused:
            await backend.call(
                "intake",
                backend.declarations.GetDeclaration,
                intake_pb2.GetDeclarationRequest(id="x"),
                token="tok-1",
            )
        error: Any = refused.value
        assert error.code == "DECLARATION_NOT_FOUND" and error.kind is ErrorKind.NOT_FOUND
        assert error.details["token"] == "Bearer tok-1" and error.cite == ["wuxing-2023 §7"]

        with pytest.raises(Exception) as too_big:
            await backend.call(
                "intake",
                backend.declarations.UploadMaterial,
                intake_pb2.UploadMaterialRequest(data=b"x" * 4096),
                token="tok-1",
            )
        assert getattr(too_big.value, "code", "") == "UPLOAD_TOO_LARGE"
        assert "文件超过允许的大小" in str(getattr(too_big.value, "message", ""))

        with pytest.raises(Exception) as down:
            await backend.call(
                "review", backend.cases.GetCase, review_pb2.GetCaseRequest(id="c"), token="tok-1"
            )
        assert getattr(down.value, "code", "") == "SERVICE_UNAVAILABLE"
        assert "联审与审批服务暂时不可用" in str(getattr(down.value, "message", ""))
    finally:
        await backend.close()
        await server.stop(None)
