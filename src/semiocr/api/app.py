"""The app factory: routers, and one mapping of the platform's errors to HTTP statuses (never a 500 for a bad
request)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from semiocr import __version__
from semiocr.api.routers import datasets, evals, marks, runs, tokens
from semiocr.core.config import ConfigError
from semiocr.core.weights.checkpoint import CheckpointError
from semiocr.platform.marks import MarkError, MarkNotFound
from semiocr.platform.states import IllegalTransition

#: platform errors → status (checked in order: subclasses first)
ERRORS: tuple[tuple[type[Exception], int], ...] = (
    (IllegalTransition, 409),
    (MarkNotFound, 404),
    (MarkError, 409),
    (ConfigError, 422),
    (CheckpointError, 422),
    (LookupError, 404),
    (PermissionError, 403),
    (ValueError, 422),
)


def create_app() -> FastAPI:
    """The management API (OpenAPI schema at ``/openapi.json``, docs at ``/docs``)."""
    app = FastAPI(title="semiocr", version=__version__,
                  description="Self-hosted semi-supervised OCR: datasets, runs, checkpoints, marks, evaluation "
                              "tasks, tokens.")
    for router in (runs.router, marks.router, evals.router, datasets.router, tokens.router):
        app.include_router(router)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    for exc_type, status in ERRORS:
        app.add_exception_handler(exc_type, _handler(status))
    return app


def _handler(status: int):
    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status)

    return handle
