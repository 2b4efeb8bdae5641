"""Jinja2 pages with the request's language, user and CSRF token."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment
from starlette.routing import Match

from conclave.i18n import LANGUAGES, Catalogs, negotiate, template_environment
from conclave.i18n.dates import formatting_locale
from conclave.web import csrf
from conclave.web.session import LANG_COOKIE, current_user, services

TEMPLATES = Path(__file__).with_name("templates")


class Environments:
    """One Jinja environment per language (``environments[lang]``), each with its
    translations installed; made the first time its language is asked for, so that the
    catalog is not compiled at start (issue 2)."""

    def __init__(self, catalogs: Catalogs) -> None:
        self._catalogs = catalogs
        self._made: dict[str, Environment] = {}
        self._lock = threading.Lock()

    def __getitem__(self, lang: str) -> Environment:
        env = self._made.get(lang)
        if env is not None:
            return env
        if lang not in LANGUAGES:
            raise KeyError(lang)
        with self._lock:
            if lang not in self._made:
                self._made[lang] = template_environment(TEMPLATES, self._catalogs, lang)
            return self._made[lang]


def make_environments(catalogs: Catalogs) -> Environments:
    return Environments(catalogs)


def language(request: Request) -> str:
    if not hasattr(request.state, "lang"):
        request.state.lang = negotiate(
            request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")
        )
    lang: str = request.state.lang
    return lang


def gettext_for(request: Request) -> Any:
    return services(request).catalogs.get(language(request)).gettext


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    env: Environment = request.app.state.jinja[language(request)]
    page = env.get_template(template).render(
        request=request,
        lang=language(request),
        date_locale=formatting_locale(request.headers.get("accept-language"), language(request)),
        languages=LANGUAGES,
        user=current_user(request),
        csrf_token=csrf.form_token(request),
        here=here(request),
        settings=services(request).policy.current(),  # the policy in force
        **context,
    )
    response = HTMLResponse(page, status_code=status_code)
    response.headers["cache-control"] = "no-store"
    new_cookie = getattr(request.state, "new_csrf_cookie", None)
    if new_cookie:
        response.set_cookie(
            csrf.COOKIE, new_cookie, path="/", secure=True, httponly=True, samesite="strict"
        )
    return response


def here(request: Request) -> str:
    """The page to come back to (e.g. after switching the language): this one for a GET;
    for a page that answers a form post, the nearest page above it that a GET can show."""
    path = request.url.path
    if request.method == "GET":
        query = request.url.query
        return f"{path}?{query}" if query else path
    for _ in range(4):
        scope = {"type": "http", "path": path, "method": "GET"}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            return path
        path = path.rsplit("/", 1)[0] or "/"
    return "/"
