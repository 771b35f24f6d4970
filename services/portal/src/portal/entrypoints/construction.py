"""The back half's procurement, construction and acceptance forms (zh-CN)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
