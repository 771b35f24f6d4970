"""Telemetry: exporter choice and trace context carried through messages."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from govkit import telemetry
from govkit.telemetry import build_tracer_provider, inject_trace_context, span_from_context
from govkit.testing.plugin import PostgresFixture


@pytest.fixture
def memory() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_trace_context_survives_a_message(memory: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, exporter = memory
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("POST /declarations") as producer:
        carrier = inject_trace_context()
    assert set(carrier) >= {"traceparent"}

    # Later, elsewhere: the carrier was stored in the outbox row and sent as NATS headers.
    with span_from_context(carrier, "consume declaration.submitted", tracer_provider=provider) as consumer:
        assert trace.get_current_span() is consumer

    spans = {s.name: s for s in exporter.get_finished_spans()}
    produced, consumed = spans["POST /declarations"], spans["consume declaration.submitted"]
    assert consumed.context is not None and produced.context is not None
    assert consumed.context.trace_id == produced.context.trace_id == producer.get_span_context().trace_id
    assert consumed.parent is not None
    assert consumed.parent.span_id == produced.context.span_id
    assert consumed.kind is SpanKind.CONSUMER


def test_header_names_are_case_insensitive(memory: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, exporter = memory
    with provider.get_tracer("test").start_as_current_span("relay"):
        carrier = inject_trace_context()
    headers = {"Traceparent": carrier["traceparent"], "Nats-Msg-Id": "e-1"}
    with span_from_context(headers, "consume", kind=SpanKind.SERVER, tracer_provider=provider):
        pass
    relay, consume = exporter.get_finished_spans()
    assert consume.context is not None and relay.context is not None
    assert consume.context.trace_id == relay.context.trace_id
    assert consume.kind is SpanKind.SERVER


def test_no_context_starts_a_new_trace(memory: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, exporter = memory
    assert inject_trace_context() == {}  # no current span: nothing to carry
    with span_from_context(None, "orphan", tracer_provider=provider):
        pass
    with span_from_context({"traceparent": "garbage"}, "garbled", tracer_provider=provider):
        pass
    orphan, garbled = exporter.get_finished_spans()
    assert orphan.parent is None and garbled.parent is None


@pytest.mark.parametrize("exporter", ["none", "console", "otlp"])
def test_exporters_construct(exporter: str) -> None:
    provider = build_tracer_provider(
        service_name="intake", exporter=exporter, otlp_endpoint="http://127.0.0.1:4317"
    )
    try:
        assert provider.resource.attributes["service.name"] == "intake"
    finally:
        provider.shutdown()


def test_a_sample_ratio_records_that_share_of_new_traces_and_whole_traces_downstream() -> None:
    for ratio, expected_roots in ((0.0, 0), (1.0, 20)):
        recorded = InMemorySpanExporter()
        sender = TracerProvider()  # the caller, recording everything
        sender.add_span_processor(SimpleSpanProcessor(recorded))
        provider = build_tracer_provider(service_name="review", sample_ratio=ratio)
        provider.add_span_processor(SimpleSpanProcessor(recorded))
        for _ in range(20):
            with provider.get_tracer("t").start_as_current_span("GET /v1/cases"):
                pass
        assert len(recorded.get_finished_spans()) == expected_roots
        # An event emitted inside a recorded trace is recorded where it is consumed, whatever the ratio.
        recorded.clear()
        with sender.get_tracer("t").start_as_current_span("POST /sign-off"):
            carrier = inject_trace_context()
        with span_from_context(carrier, "consume declaration.submitted", tracer_provider=provider):
            pass
        assert [s.name for s in recorded.get_finished_spans()] == [
            "POST /sign-off",
            "consume declaration.submitted",
        ]
        provider.shutdown()


@pytest.mark.parametrize("ratio", [-0.1, 1.5])
def test_a_sample_ratio_outside_0_and_1_is_refused(ratio: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        build_tracer_provider(service_name="intake", sample_ratio=ratio)
    from pydantic import ValidationError

    from govkit.settings import ServiceSettings

    with pytest.raises(ValidationError):
        ServiceSettings(service_name="intake", otel_sample_ratio=ratio)


def test_unknown_exporter_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown trace exporter"):
        build_tracer_provider(service_name="intake", exporter="jaeger")
    with pytest.raises(ValueError, match="unknown trace exporter"):
        telemetry.setup_telemetry(service_name="intake", exporter="zipkin")


def test_setup_is_idempotent() -> None:
    first = telemetry.setup_telemetry(service_name="govkit-tests")
    assert telemetry.setup_telemetry(service_name="govkit-tests", exporter="console") is first
    assert trace.get_tracer_provider() is first


def test_instrumentation_hooks_build() -> None:
    assert len(telemetry.grpc_server_interceptors()) == 1
    assert len(telemetry.grpc_client_interceptors()) == 4


@pytest.fixture
def global_spans() -> InMemorySpanExporter:
    """The process-wide provider (set up once) with an in-memory exporter attached for this test."""
    exporter = InMemorySpanExporter()
    telemetry.setup_telemetry(service_name="govkit-tests").add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


async def test_fastapi_requests_are_traced_but_probes_are_not(global_spans: InMemorySpanExporter) -> None:
    import httpx
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/declarations/{ident}")
    async def read(ident: str) -> dict[str, str]:
        return {"id": ident, **inject_trace_context()}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    telemetry.instrument_fastapi(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        body = (await client.get("/declarations/d-1")).json()
        await client.get("/healthz")

    server_spans = [s for s in global_spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert [s.name for s in server_spans] == ["GET /declarations/{ident}"]
    # What a route would write into its outbox row belongs to the request's trace.
    (request_span,) = server_spans
    assert request_span.context is not None
    assert body["traceparent"].split("-")[1] == format(request_span.context.trace_id, "032x")


async def test_sqlalchemy_queries_are_traced_once(
    pg: PostgresFixture, global_spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(pg.admin_url)
    try:
        telemetry.instrument_sqlalchemy([engine])
        # A second call must not add a second set of hooks (that would double every span).
        telemetry.instrument_sqlalchemy([engine])
        assert "instrument_sqlalchemy called again" in caplog.text
        tracer = trace.get_tracer("test")
        with tracer.start_as_current_span("use case") as parent:
            async with engine.connect() as conn:
                await conn.execute(text("select 42"))
    finally:
        await engine.dispose()

    db_spans = [
        s
        for s in global_spans.get_finished_spans()
        if s.kind is SpanKind.CLIENT and "42" in str(s.attributes.get("db.statement", ""))
    ]
    assert len(db_spans) == 1
    assert db_spans[0].parent is not None
    assert db_spans[0].parent.span_id == parent.get_span_context().span_id
