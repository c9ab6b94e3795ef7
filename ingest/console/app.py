"""The console's application: settings, the read-only connection pool, security middleware, templates.

    from ingest.console import ConsoleSettings, create_app
    app = create_app(ConsoleSettings(dsn="postgresql://analyst@db/wirewatch"))

Every connection is made read-only (default_transaction_read_only, and SET ROLE wirewatch_analyst when that
role exists and the login may take it); every query lives in ingest.warehouse.console.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from psycopg_pool import ConnectionPool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from ingest.console import present
from ingest.warehouse import console as wc

log = logging.getLogger("ingest.console")
access_log = logging.getLogger("ingest.console.access")

HERE = Path(__file__).resolve().parent
TOKEN_COOKIE = "wirewatch_console"
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class ConsoleSettings:
    dsn: str  # never rendered or logged
    role: str | None = wc.ANALYST_ROLE  # SET ROLE to it when it exists and the login may
    token: str | None = None  # required of every request when set
    poll_seconds: float = 15.0  # how often the events page asks for new events
    allowed_hosts: list[str] = field(default_factory=lambda: list(LOOPBACK_HOSTS))
    pool_size: int = 4


class Warehouse:
    """A small pool of read-only connections to the analyst views."""

    def __init__(self, settings: ConsoleSettings):
        self.settings = settings
        self.session: wc.SessionInfo | None = None
        self.pool = ConnectionPool(
            settings.dsn,
            min_size=1,
            max_size=settings.pool_size,
            kwargs={"autocommit": True, "application_name": "wirewatch-console"},
            configure=self._configure,
            open=False,
            timeout=10,
            name="wirewatch-console",
        )

    def _configure(self, conn: psycopg.Connection) -> None:
        self.session = wc.configure_session(conn, self.settings.role)

    def open(self) -> None:
        self.pool.open(wait=True, timeout=15)

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        with self.pool.connection() as conn:
            yield conn


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(enabled_extensions=("html", "svg", "xml"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        safe_url=present.safe_url,
        inert=present.inert,
        md_parts=present.post_text_parts,
        utc=present.utc,
        utc_iso=present.utc_iso,
        redact=present.redact,
    )
    env.globals["urlencode"] = lambda params: urlencode(
        {k: v for k, v in params.items() if v not in (None, "")}
    )
    return env


def create_app(settings: ConsoleSettings) -> FastAPI:
    warehouse = Warehouse(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        warehouse.open()
        try:
            yield
        finally:
            warehouse.close()

    app = FastAPI(
        title="wirewatch console", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan,
    )  # fmt: skip
    app.state.settings = settings
    app.state.warehouse = warehouse
    app.state.templates = Jinja2Templates(env=_environment())
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def guard(request: Request, call_next):
        t0 = time.perf_counter()
        token = settings.token
        if token:
            given = _given_token(request)
            if given is None or not hmac.compare_digest(given.encode(), token.encode()):
                response = _unauthorised(request)
                _log(request, response, t0)
                return response
            if request.query_params.get("token") is not None:
                # The token came in the address: keep it in an HttpOnly cookie, and take it out of the address
                # (history, Referer, server logs) at once.
                rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
                response = RedirectResponse(request.url.path + (f"?{urlencode(rest)}" if rest else ""), 303)
                response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", path="/")
                _harden(response)
                _log(request, response, t0)
                return response
        response = await call_next(request)
        _harden(response)
        _log(request, response, t0)
        return response

    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts or ["*"])

    @app.exception_handler(psycopg.Error)
    async def warehouse_error(request: Request, exc: psycopg.Error):
        # The class only: a driver message can name the server, never the page's business.
        log.error("warehouse error on %s: %s", request.url.path, type(exc).__name__)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "warehouse unavailable"}, status_code=503)
        return HTMLResponse(
            "<!doctype html><title>wirewatch</title><p>The warehouse is unavailable.</p>", 503
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return _error(request, exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}" for e in exc.errors()
        )
        return _error(request, 422, problems or "invalid request")

    from ingest.console import routes

    app.include_router(routes.router)
    return app


def _error(request: Request, status: int, detail: str, headers: dict | None = None) -> Response:
    """Errors as JSON under /api/, else as a small page; the detail is ours and escaped like any text."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": detail}, status_code=status, headers=headers)
    return request.app.state.templates.TemplateResponse(
        request, "error.html", {"status": status, "detail": detail}, status_code=status, headers=headers
    )


def _given_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE)


def _unauthorised(request: Request) -> Response:
    if request.url.path.startswith("/api/"):
        response: Response = JSONResponse({"error": "token required"}, status_code=401)
    else:
        response = HTMLResponse(
            "<!doctype html><title>wirewatch console</title><p>This console needs its access token: open "
            "<code>/?token=…</code> once, or send <code>Authorization: Bearer …</code>.</p>",
            status_code=401,
        )
    response.headers["WWW-Authenticate"] = "Bearer"
    _harden(response)
    return response


def _harden(response: Response) -> None:
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Referrer-Policy", "no-referrer")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if "cache-control" not in h:
        h["Cache-Control"] = "no-store"


def _log(request: Request, response: Response, t0: float) -> None:
    # The path only: a query string may carry the token or an analyst's search words.
    access_log.info(
        "%s %s %s %.1f ms",
        request.method,
        request.url.path,
        response.status_code,
        (time.perf_counter() - t0) * 1000,
    )
