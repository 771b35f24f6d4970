"""The services' gRPC APIs as the portal calls them: always with the signed-in user's token.

The portal owns no domain data: every page is built from these calls, and every form is one of
them. A failure comes back as the AppError the service sent (its code, Chinese message, field
details and citations); a service that does not answer becomes SERVICE_UNAVAILABLE naming it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
import grpc.aio

from govkit.errors import AppError, ErrorKind
from govkit.grpckit import create_channel, error_from_rpc_error
from govproj.acceptance.v1 import acceptance_pb2_grpc
from govproj.common.v1 import audit_pb2_grpc
from govproj.evaluation.v1 import evaluation_pb2_grpc
from govproj.intake.v1 import intake_pb2_grpc
from govproj.procurement.v1 import procurement_pb2_grpc
from govproj.review.v1 import (
    approval_pb2_grpc,
    experts_pb2_grpc,
    plan_pb2_grpc,
    review_pb2_grpc,
    tasks_pb2_grpc,
)
from portal.adapters.sessions import active_org_metadata

SERVICE_NAMES_ZH = {
    "intake": "项目申报服务",
    "review": "联审与审批服务",
    "procurement": "采购与建设服务",
    "acceptance": "验收服务",
    "evaluation": "绩效评价服务",
}
_DOWN = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
_MAX_DOCUMENT_BYTES = 64 * 1024 * 1024

Response = TypeVar("Response")

# Reads only: safe to retry on UNAVAILABLE (a retried write could act twice).
_IDEMPOTENT = {
    "intake": [
        f"/govproj.intake.v1.{service}/{method}"
        for service, method in [
            ("DeclarationService", "GetDeclaration"),
            ("DeclarationService", "ListDeclarations"),
            ("DeclarationService", "ListMaterials"),
            ("OrgService", "ListTenants"),
            ("OrgService", "ListOrgs"),
            ("CallService", "ListCalls"),
            ("CallService", "GetCall"),
        ]
    ],
    "review": [
        f"/govproj.review.v1.{service}/{method}"
        for service, method in [
            ("ReviewCaseService", "GetCase"),
            ("ReviewCaseService", "ListCases"),
            ("ReviewCaseService", "GetChecklist"),
            ("ReviewCaseService", "ListFormalReviews"),
            ("ReviewCaseService", "ListOpinions"),
            ("ReviewCaseService", "ListPlanDecisions"),
            ("TaskService", "ListMyTasks"),
            ("TaskService", "ListCaseTasks"),
            ("ExpertService", "ListExperts"),
            ("ExpertService", "GetPanel"),
            ("ExpertService", "GetScoringSheet"),
            ("ExpertService", "GetPanelSummary"),
            ("PlanService", "GetPlan"),
            ("PlanService", "ListPlans"),
            ("PlanService", "ExportPlan"),
            ("ApprovalService", "ListApplications"),
            ("ApprovalService", "GetApproval"),
            ("ApprovalService", "ListApprovals"),
            ("ApprovalService", "GetApprovalDocument"),
        ]
    ],
    "procurement": [
        f"/govproj.procurement.v1.ProcurementService/{method}"
        for method in ("GetProject", "ListProjects", "GetProcurement", "ListMismatches")
    ],
    "acceptance": [
        f"/govproj.acceptance.v1.AcceptanceService/{method}"
        for method in ("GetProject", "GetProjectByDeclaration", "ListProjects", "GetAcceptance", "GetReport")
    ],
    "evaluation": [
        f"/govproj.evaluation.v1.{service}/{method}"
        for service, method in [
            ("PortfolioService", "GetProject"),
            ("PortfolioService", "ListProjects"),
            ("PortfolioService", "Dashboard"),
            ("PortfolioService", "ListRisks"),
            ("PortfolioService", "Timings"),
            ("EvaluationService", "GetEvaluation"),
            ("EvaluationService", "ListEvaluations"),
            ("EvaluationService", "ListSelfEvaluations"),
            ("OmFundingService", "GetRequest"),
            ("OmFundingService", "ListRequests"),
            ("RectificationService", "GetOrder"),
            ("RectificationService", "ListOrders"),
            ("DiscreditedService", "ListEntries"),
            ("DiscreditedService", "CheckSubject"),
        ]
    ],
}


def service_unavailable(service: str) -> AppError:
    """The service does not answer: the page says which one and what to do."""
    name = SERVICE_NAMES_ZH.get(service, service)
    return AppError(
        code="SERVICE_UNAVAILABLE",
        message=f"{name}暂时不可用，请稍后刷新页面重试；已填写的内容不会丢失。",
        kind=ErrorKind.UNAVAILABLE,
        details={"service": service},
    )


class Backend:
    """Channels and stubs of every service the portal reads and writes through; build it where the
    event loop runs."""

    def __init__(
        self,
        *,
        intake_target: str,
        review_target: str,
        timeout: float,
        evaluation_target: str = "127.0.0.1:9105",
        procurement_target: str = "127.0.0.1:9103",
        acceptance_target: str = "127.0.0.1:9104",
    ) -> None:
        self._timeout = timeout
        # A restarted service is found again within a couple of seconds (gRPC's default reconnect
        # backoff grows to two minutes, during which every page would say the service is down).
        # Documents come back whole (the approval PDF, the plan's Excel): above gRPC's 4 MiB default.
        options = [
            ("grpc.initial_reconnect_backoff_ms", 200),
            ("grpc.max_reconnect_backoff_ms", 2000),
            ("grpc.max_receive_message_length", _MAX_DOCUMENT_BYTES),
        ]
        targets = {
            "intake": intake_target,
            "review": review_target,
            "procurement": procurement_target,
            "acceptance": acceptance_target,
            "evaluation": evaluation_target,
        }
        self._channels = {
            name: create_channel(
                target,
                # Every service serves its own part of a project's audit trail (a read).
                idempotent_methods=[*_IDEMPOTENT[name], "/govproj.common.v1.AuditTrail/ListProjectAudit"],
                default_timeout=timeout,
                options=options,
            )
            for name, target in targets.items()
        }
        intake, review = self._channels["intake"], self._channels["review"]
        # The portfolio: every project across the lifecycle (项目库, 统计看板).
        self.portfolio = evaluation_pb2_grpc.PortfolioServiceStub(self._channels["evaluation"])
        self.declarations = intake_pb2_grpc.DeclarationServiceStub(intake)
        self.orgs = intake_pb2_grpc.OrgServiceStub(intake)
        self.calls = intake_pb2_grpc.CallServiceStub(intake)
        self.cases = review_pb2_grpc.ReviewCaseServiceStub(review)
        self.tasks = tasks_pb2_grpc.TaskServiceStub(review)
        self.experts = experts_pb2_grpc.ExpertServiceStub(review)
        self.plans = plan_pb2_grpc.PlanServiceStub(review)
        self.approvals = approval_pb2_grpc.ApprovalServiceStub(review)
        # The back half: contracts and progress, acceptance, evaluations, O&M funds, orders, the list.
        self.procurement = procurement_pb2_grpc.ProcurementServiceStub(self._channels["procurement"])
        self.acceptance = acceptance_pb2_grpc.AcceptanceServiceStub(self._channels["acceptance"])
        evaluation = self._channels["evaluation"]
        self.evaluations = evaluation_pb2_grpc.EvaluationServiceStub(evaluation)
        self.om_funding = evaluation_pb2_grpc.OmFundingServiceStub(evaluation)
        self.rectifications = evaluation_pb2_grpc.RectificationServiceStub(evaluation)
        self.discredited = evaluation_pb2_grpc.DiscreditedServiceStub(evaluation)
        # 审计记录: each service's audit trail of a project, by service name.
        self.audit_trails = {name: audit_pb2_grpc.AuditTrailStub(ch) for name, ch in self._channels.items()}

    async def close(self) -> None:
        """Close every channel."""
        for channel in self._channels.values():
            await channel.close(None)

    async def call(
        self,
        service: str,
        method: Callable[..., Awaitable[Response]],
        request: Any,
        *,
        token: str,
    ) -> Response:
        """``method(request)`` as the user of ``token`` (acting for the session's chosen org);
        failures raised as the service's AppError."""
        metadata = (("authorization", f"Bearer {token}"), *active_org_metadata())
        try:
            return await method(request, metadata=metadata, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in _DOWN:
                raise service_unavailable(service) from exc
            if exc.code() is grpc.StatusCode.RESOURCE_EXHAUSTED:
                # The service's gRPC server refused the message itself (an upload above its limit).
                raise AppError(
                    code="UPLOAD_TOO_LARGE",
                    message="文件超过允许的大小，请压缩或拆分后重新上传。",
                    kind=ErrorKind.INVALID,
                    details={"service": service},
                ) from exc
            raise error_from_rpc_error(exc) from exc
