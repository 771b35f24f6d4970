"""The back half's evaluation forms (zh-CN): 绩效自评 and the bureau's evaluations, 运维经费申请,
整改通知, 失信名单. Each write is one of evaluation's gRPC calls as the user."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
