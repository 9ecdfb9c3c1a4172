"""The API's documentation pages, served with assets from the app itself:
Swagger UI and ReDoc from the `fastapi-offline` package, nothing from a CDN."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
ASSETS = "/static/docs"
# Nothing from elsewhere: ReDoc's bundle would fetch its maker's logo from a
# CDN. The pages' own short scripts are inline; ReDoc searches in a worker.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; font-src 'self' data:;"
        " style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline';"
        " worker-src 'self' blob:; frame-ancestors 'none'"
    )
}


def _own(page: HTMLResponse) -> HTMLResponse:
    page.headers.update(HEADERS)
    return page


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    return _own(
        get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{request.app.title}: API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
            oauth2_redirect_url="/docs/oauth2-redirect",
        )
    )


@router.get("/docs/oauth2-redirect")
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    return _own(
        get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{request.app.title}: API",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url="/static/favicon.svg",
            with_google_fonts=False,
        )
    )
