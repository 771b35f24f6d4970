"""The app factory: one error shape, readiness, no 500 for bad input."""

from decimal import Decimal

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from govkit.errors import AppError, ErrorKind
from govkit.web import create_app


class Thing(BaseModel):
    name: str = Field(min_length=1)
    amount: Decimal = Field(gt=0)


def make_app(ready: bool = True) -> FastAPI:
    async def check() -> bool:
        return ready

    app = create_app(title="t", readiness=[check])

    @app.post("/things")
    async def create(thing: Thing) -> dict[str, str]:
        if thing.name == "quota":
            raise AppError(
                code="DECLARATION_QUOTA_EXCEEDED",
                message="已超过本年度申报数量上限。",
                kind=ErrorKind.PRECONDITION,
                cite=["lhasa §7"],
            )
        return {"ok": thing.name}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    return app


def test_validation_errors_name_each_field_in_chinese() -> None:
    response = TestClient(make_app()).post("/things", json={"name": "", "amount": "abc"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_FAILED"
    fields = {f["field"]: f["message"] for f in error["details"]["fields"]}
    assert set(fields) == {"name", "amount"}
    assert all(message and message.isascii() is False for message in fields.values())


def test_app_errors_carry_code_message_and_citations() -> None:
    response = TestClient(make_app()).post("/things", json={"name": "quota", "amount": "1"})
    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "code": "DECLARATION_QUOTA_EXCEEDED",
            "message": "已超过本年度申报数量上限。",
            "details": {},
            "cite": ["lhasa §7"],
        }
    }


def test_unexpected_errors_do_not_leak_internals() -> None:
    response = TestClient(make_app(), raise_server_exceptions=False).get("/boom")
    assert response.status_code == 500
    assert "secret" not in response.text and response.json()["error"]["code"] == "INTERNAL"


def test_unknown_route_is_a_404_in_the_same_shape() -> None:
    response = TestClient(make_app()).get("/nowhere")
    assert response.status_code == 404 and response.json()["error"]["code"] == "HTTP_404"


def test_readiness_reflects_checks() -> None:
    assert TestClient(make_app(ready=True)).get("/readyz").status_code == 200
    assert TestClient(make_app(ready=False)).get("/readyz").status_code == 503
    assert TestClient(make_app(ready=False)).get("/healthz").status_code == 200
