"""Every REST route of every service, and every portal page, resolves its dependencies on the event
loop: FastAPI runs a plain ``def`` dependency in its thread pool, a thread hop (and a GIL handover)
on every request for what is only an attribute read."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIRouter

from acceptance.entrypoints import rest as acceptance_rest
from evaluation.entrypoints import rest as evaluation_rest
from intake.entrypoints import rest as intake_rest
from portal.entrypoints import auth, construction, evaluation_forms, pages
from procurement.entrypoints import rest as procurement_rest
from review.entrypoints import rest as review_rest

ROUTERS: dict[str, list[APIRouter]] = {
    "intake": intake_rest.routers,
    "review": review_rest.routers,
    "procurement": procurement_rest.routers,
    "acceptance": acceptance_rest.routers,
    "evaluation": evaluation_rest.routers,
    "portal": [pages.router, auth.router, construction.router, evaluation_forms.router],
}


def _calls(dependant: Dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _on_the_loop(call: object) -> bool:
    """A coroutine function, or an object whose ``__call__`` is one (FastAPI awaits both)."""
    if inspect.iscoroutinefunction(call):
        return True
    return not inspect.isfunction(call) and inspect.iscoroutinefunction(type(call).__call__)


def _thread_pool_calls(routers: Iterable[APIRouter]) -> list[str]:
    found = []
    for router in routers:
        for route in router.routes:
            if not isinstance(route, APIRoute):
                continue
            for call in [route.endpoint, *_calls(route.dependant)]:
                if not _on_the_loop(call):
                    found.append(f"{route.path}: {getattr(call, '__qualname__', call)}")
    return found


@pytest.mark.parametrize("service", sorted(ROUTERS))
def test_no_route_waits_for_the_thread_pool(service: str) -> None:
    routes = sum(len(r.routes) for r in ROUTERS[service])
    assert routes > 0
    assert _thread_pool_calls(ROUTERS[service]) == []
