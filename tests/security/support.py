"""Helpers for the security suite: apps with an injected HTTP client, outbound-call recording,
cookie and session decoding, a fake clock. Plain functions and classes, imported by the tests."""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import httpx
from flask import Flask
from flask import render_template_string
from flask.testing import FlaskClient

from gorgias_appkit import Kit
from gorgias_appkit.web import GorgiasKit
from gorgias_sandbox import SandboxControl

EVIL = "https://evil.example"
# A partner page on the kit's base template (so flashed install notices are shown).
PAGE = '{% extends "gorgias_appkit/base.html" %}{% block content %}{{ text }}{% endblock %}'


def kit_of(app: Flask) -> Kit:
    """The app's kit."""
    kit = app.extensions["gorgias_appkit"]
    assert isinstance(kit, Kit)
    return kit


def query_of(url: str) -> dict[str, str]:
    """The first value of each query parameter of ``url``."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def state_of(authorize_url: str) -> str:
    """The state an authorize URL carries."""
    return query_of(authorize_url)["state"]


def sandbox_calls(sandbox: SandboxControl, account: str | None = None) -> int:
    """Every counter the sandbox kept (for one account, or all): zero means no request at all."""
    counters = sandbox.stats()["counters"]
    chosen = [counters.get(account, {})] if account else list(counters.values())
    return sum(n for c in chosen for n in c.values())


class Recorder(httpx.BaseTransport):
    """The rest of the internet: records every request that reaches it and answers 200."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return httpx.Response(
            200, json={"access_token": "stolen", "token_type": "Bearer", "domain": "acme"}
        )


class Network:
    """An ``httpx.Client`` whose only real route is the sandbox; everything else is recorded."""

    def __init__(self, sandbox_url: str, *, follow_redirects: bool = False) -> None:
        self.elsewhere = Recorder()
        self.sent: list[httpx.Request] = []
        self.sandbox_url = sandbox_url
        self.client = httpx.Client(
            mounts={sandbox_url: httpx.HTTPTransport()},
            transport=self.elsewhere,
            event_hooks={"request": [self.sent.append]},
            follow_redirects=follow_redirects,
            timeout=10.0,
        )

    def foreign(self) -> list[str]:
        """URLs of requests that went anywhere but the sandbox."""
        return [str(r.url) for r in self.sent if not str(r.url).startswith(self.sandbox_url)]

    def urls(self) -> list[str]:
        """Every URL the kit requested, in order."""
        return [str(r.url) for r in self.sent]


def build_app(env: dict[str, str], tmp_path: Path, **kit_options: Any) -> Flask:
    """A minimal partner app: the kit's blueprint only, with ``Kit`` options (``http``, ...)."""
    app = Flask("security_app", instance_path=str(tmp_path / "instance"))
    app.config.update(env, TESTING=True)
    GorgiasKit(app, **kit_options)

    @app.get("/accounts/<account>")
    def account_page(account: str) -> str:
        return render_template_string(PAGE, text=f"installed {account}")

    @app.get("/")
    def home() -> str:
        return render_template_string(PAGE, text="home")

    return app


def start(client: FlaskClient, account: str = "acme", **params: str) -> str:
    """GET /oauth/install and return the authorize URL (asserting the 302)."""
    response = client.get("/oauth/install", query_string={"account": account, **params})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def consent(authorize_url: str, decision: str = "approve") -> dict[str, str]:
    """Approve (or deny) on the sandbox's consent page; return the callback query."""
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        page = http.get(authorize_url)
        assert page.status_code == 200, page.text
        users = re.findall(r'<option[^>]*value="([^"]+)"', page.text)
        answer = http.post(authorize_url, data={"decision": decision, "user_id": users[0]})
    assert answer.status_code in (302, 303), answer.text
    return query_of(answer.headers["Location"])


def set_cookies(responses: Iterable[Any]) -> list[str]:
    """Every Set-Cookie header of ``responses``."""
    return [h for r in responses for h in r.headers.getlist("Set-Cookie")]


def decode_session(value: str) -> dict[str, Any]:
    """Read a Flask session cookie the way anyone holding it can: no key needed."""
    compressed = value.startswith(".")
    payload = value.lstrip(".").split(".")[0]
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    result: dict[str, Any] = json.loads(zlib.decompress(data) if compressed else data)
    return result


def granted(app: Flask, client: FlaskClient, value: str | None = None) -> tuple[str, ...]:
    """The accounts the server-side session behind a session cookie grants (issue 9 item 3).

    ``value`` is a saved cookie; by default the one ``client`` holds now.
    """
    if value is None:
        cookie = client.get_cookie("session")
        if cookie is None:
            return ()
        value = cookie.value
    sid = decode_session(value).get("sid")
    found = kit_of(app).sessions.find(sid) if isinstance(sid, str) else None
    return tuple(found.accounts) if found else ()
