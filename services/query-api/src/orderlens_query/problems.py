"""RFC 9457 problem details: every error answer of the API, and the handlers producing them."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pymongo.errors import ConnectionFailure, ExecutionTimeout, ServerSelectionTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from orderlens.filters import FilterError, ParamError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class ProblemError(BaseModel):
    """One offending input: a query parameter, header or body field (`body.carrier`)."""

    param: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank", description="A URI naming the problem type.")
    title: str = Field(description="The HTTP reason phrase.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong, in words.")
    instance: str | None = Field(default=None, description="The request path.")
    errors: list[ProblemError] | None = Field(
        default=None, description="The offending parameters, for 400 answers."
    )


class ProblemException(Exception):
    """Raise to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[ProblemError] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors
        self.headers = dict(headers or {})


def unauthorized(detail: str) -> ProblemException:
    return ProblemException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="orderlens"'})


def bad_params(errors: list[ParamError]) -> ProblemException:
    problems = [ProblemError(param=e.param, message=e.message) for e in errors]
    detail = "; ".join(f"{e.param}: {e.message}" for e in errors)
    return ProblemException(400, f"invalid parameters: {detail}", errors=problems)


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    errors: list[ProblemError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=errors,
    ).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("query", "path", "header", "cookie") and len(parts) > 1:
        return ".".join(parts[1:])
    return ".".join(parts) or "request"


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemException)
    return problem_response(request, exc.status, exc.detail, errors=exc.errors, headers=exc.headers)


async def _on_filter_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FilterError)
    problem = bad_params(exc.errors)
    return problem_response(request, 400, problem.detail, errors=problem.errors)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        ProblemError(param=_location(tuple(e.get("loc", ()))), message=str(e.get("msg")))
        for e in exc.errors()
    ]
    detail = "; ".join(f"{e.param}: {e.message}" for e in errors) or "invalid request"
    return problem_response(request, 400, f"invalid request: {detail}", errors=errors)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem_response(request, exc.status_code, detail, headers=exc.headers)


async def _on_timeout(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(
        request,
        503,
        "the query took longer than its time limit; narrow the filters and retry",
        headers={"Retry-After": "1"},
    )


async def _on_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", exc)
    return problem_response(
        request, 503, "the database is unavailable; retry shortly", headers={"Retry-After": "2"}
    )


async def _on_kafka_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # A read of Kafka itself (the order streams) when the broker does not answer; publishing
    # maps its own failure (adapters/publishers.py).
    log.warning("Kafka unavailable: %r", exc)
    return problem_response(
        request, 503, "Kafka is unavailable; retry shortly", headers={"Retry-After": "2"}
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(request, 500, "internal error")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemException, _on_problem)
    app.add_exception_handler(FilterError, _on_filter_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(ExecutionTimeout, _on_timeout)
    app.add_exception_handler(ServerSelectionTimeoutError, _on_unavailable)
    app.add_exception_handler(ConnectionFailure, _on_unavailable)
    app.add_exception_handler(KafkaError, _on_kafka_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given problem statuses."""
    reasons = {
        400: "Invalid parameters or body; `errors` names each offending parameter.",
        401: "Missing, expired or invalid bearer token.",
        403: "The token's role may not do this.",
        404: "No such order among the token's shops.",
        409: "The order's status does not allow this action.",
        413: "The request body is over its size cap (docs/contract.md §5.6).",
        422: "The Idempotency-Key was used for a different request.",
        503: "A dependency (MongoDB or Kafka) is unavailable, or a query timed out.",
    }
    return {
        status: {
            "model": Problem,
            "description": reasons.get(status, HTTPStatus(status).phrase),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
