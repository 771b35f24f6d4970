"""OpenTelemetry tracing for govproj: one trace per user action, REST → gRPC → NATS → consumer.

* :func:`setup_telemetry` installs the process's tracer provider once, with the exporter the
  settings name: ``none`` (spans are still created, so trace ids propagate, but go nowhere),
  ``console`` (development) or ``otlp`` (a collector over OTLP/gRPC).
* :func:`instrument_fastapi`, :func:`grpc_server_interceptors`, :func:`grpc_client_interceptors`
  and :func:`instrument_sqlalchemy` hook the frameworks in.
* Messages do not carry a live context: :func:`inject_trace_context` captures the current span as
  W3C ``traceparent``/``tracestate`` strings to store in an outbox row and send as NATS headers,
  and :func:`span_from_context` continues that trace in the consumer.

Nothing happens at import time; the composition root (bootstrap.py) calls these.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)

EXPORTERS = ("none", "console", "otlp")
"""Exporter names accepted by :func:`setup_telemetry` (``OTEL_TRACES_EXPORTER`` uses the same)."""

TRACER_NAME = "govproj"
# Probes and scrapes every few seconds would drown the useful spans.
FASTAPI_EXCLUDED_URLS = "/healthz,/readyz,/metrics"
GRPC_HEALTH_SERVICE = "grpc.health.v1.Health"

# W3C Trace Context, not the globally configured propagator: carriers are stored in outbox rows
# and must be readable by every consumer whatever OTEL_PROPAGATORS says on either side.
_PROPAGATOR = TraceContextTextMapPropagator()

_lock = threading.Lock()
_provider: TracerProvider | None = None
_sqlalchemy_instrumented = False


def _build_exporter(exporter: str, otlp_endpoint: str | None) -> SpanExporter | None:
    if exporter == "none":
        return None
    if exporter == "console":
        return ConsoleSpanExporter()
    if exporter == "otlp":
        # Imported here: the OTLP exporter pulls in grpc and protobuf modules nobody else needs.
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        # endpoint=None lets OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT decide (default localhost:4317).
        return OTLPSpanExporter(endpoint=otlp_endpoint)
    raise ValueError(f"unknown trace exporter {exporter!r}; expected one of {', '.join(EXPORTERS)}")


def build_tracer_provider(
    *, service_name: str, exporter: str = "none", otlp_endpoint: str | None = None, sample_ratio: float = 1.0
) -> TracerProvider:
    """A tracer provider for ``service_name`` exporting to ``exporter``; not installed globally.

    ``sample_ratio`` of the traces that start here are recorded; a span whose parent (a caller's
    request, the request that emitted an event) is recorded is recorded too, so a trace is whole or
    absent. Raises ValueError for an unknown exporter name or a ratio outside 0..1.
    """
    if not 0.0 <= sample_ratio <= 1.0:
        raise ValueError(f"trace sample ratio must be between 0 and 1, not {sample_ratio}")
    span_exporter = _build_exporter(exporter, otlp_endpoint)
    # Resource.create also merges OTEL_RESOURCE_ATTRIBUTES (deployment environment, pod name...).
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: service_name}),
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
    )
    if span_exporter is not None:
        # Console output should appear as it happens; network export is batched off the hot path.
        processor = (
            SimpleSpanProcessor(span_exporter) if exporter == "console" else BatchSpanProcessor(span_exporter)
        )
        provider.add_span_processor(processor)
    return provider


def setup_telemetry(
    *, service_name: str, exporter: str = "none", otlp_endpoint: str | None = None, sample_ratio: float = 1.0
) -> TracerProvider:
    """Install the process-wide tracer provider (once) and return it.

    Idempotent: later calls return the provider of the first one (OpenTelemetry allows a single
    global provider per process), logging a warning when they ask for something else.
    Raises ValueError for an unknown exporter name.
    """
    global _provider
    if exporter not in EXPORTERS:
        raise ValueError(f"unknown trace exporter {exporter!r}; expected one of {', '.join(EXPORTERS)}")
    with _lock:
        if _provider is not None:
            name = _provider.resource.attributes.get(SERVICE_NAME)
            if name != service_name:
                logger.warning("telemetry already set up for %s; ignoring setup for %s", name, service_name)
            return _provider
        provider = build_tracer_provider(
            service_name=service_name,
            exporter=exporter,
            otlp_endpoint=otlp_endpoint,
            sample_ratio=sample_ratio,
        )
        trace.set_tracer_provider(provider)
        _provider = provider
        return provider


def instrument_fastapi(app: FastAPI) -> None:
    """Trace every request of ``app`` (except health, readiness and metrics endpoints)."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    # tracer_provider left to the global one, so the order of setup and instrumentation is free.
    # No per-message ASGI receive/send spans: they tripled the spans of every request (and their
    # cost) without telling an operator anything the request span does not.
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls=FASTAPI_EXCLUDED_URLS, exclude_spans=["receive", "send"]
    )


def grpc_server_interceptors() -> list[Any]:
    """Interceptors for :func:`govkit.grpckit.create_server` (put them first: outermost)."""
    from opentelemetry.instrumentation.grpc import aio_server_interceptor, filters

    return [aio_server_interceptor(filter_=filters.negate(filters.service_name(GRPC_HEALTH_SERVICE)))]


def grpc_client_interceptors() -> list[Any]:
    """Interceptors for :func:`govkit.grpckit.create_channel` (its ``interceptors=``).

    OpenTelemetry's aio client interceptors can swallow task cancellation (contrib issue 3271);
    create_channel's DeadlineClientInterceptor, placed inside them, restores it.
    """
    from opentelemetry.instrumentation.grpc import aio_client_interceptors

    return list(aio_client_interceptors())


def instrument_sqlalchemy(engines: Sequence[AsyncEngine]) -> None:
    """Trace the queries of all these engines, in ONE call per process.

    The instrumentor ignores a second ``instrument()`` (it would silently leave the later engines
    untraced), so pass every engine here at once. Engines created afterwards with
    ``create_async_engine`` are traced too, because instrumenting also wraps engine creation.
    asyncpg is deliberately not instrumented as well: every query would get two spans.
    """
    global _sqlalchemy_instrumented
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    with _lock:
        if _sqlalchemy_instrumented:
            logger.warning(
                "instrument_sqlalchemy called again: ignored; only engines created since the first "
                "call are traced. Pass every engine in one call."
            )
            return
        # skip_dep_check: instrumentation 0.66b1 declares "sqlalchemy < 2.1" and otherwise refuses
        # (logging an error, tracing nothing) on our pinned 2.1; its event hooks work on 2.1, which
        # tests/test_telemetry.py checks.
        SQLAlchemyInstrumentor().instrument(engines=[e.sync_engine for e in engines], skip_dep_check=True)
        _sqlalchemy_instrumented = True


def inject_trace_context() -> dict[str, str]:
    """The current span as W3C trace context (``traceparent``, maybe ``tracestate``).

    Store it in the outbox row when the row is written (so the relay publishes under the request's
    trace, not its own) and send it as NATS headers. Empty when no span is recording.
    """
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier


@contextmanager
def span_from_context(
    carrier: Mapping[str, str] | None,
    name: str,
    kind: SpanKind = SpanKind.CONSUMER,
    *,
    attributes: Mapping[str, AttributeValue] | None = None,
    tracer_provider: trace.TracerProvider | None = None,
) -> Iterator[Span]:
    """Start (and make current) a span whose parent is the trace context in ``carrier``.

    ``carrier`` is what :func:`inject_trace_context` returned, read back from an outbox row or a
    message's headers; header names are matched case-insensitively. Without a usable context the
    span starts a new trace.
    """
    normalized = {k.lower(): v for k, v in (carrier or {}).items()}
    parent = _PROPAGATOR.extract(normalized)
    tracer = trace.get_tracer(TRACER_NAME, tracer_provider=tracer_provider)
    with tracer.start_as_current_span(name, context=parent, kind=kind, attributes=attributes) as span:
        yield span
