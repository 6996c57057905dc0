"""SEC-13/SEC-14 end to end: after a whole life cycle at DEBUG, no secret is where it shouldn't be.

One run: install, a refresh (tokens rotate), a failing refresh (the token endpoint answers 500),
failure pages (bad state, declined consent, a failed exchange), and a disconnect, all with every
logger at DEBUG. Then the captured log records (message and traceback), the HTML of every page
the browser saw, and the bytes of the SQLite database are searched for every token the sandbox
issued, every code and state, and the client secret. Records from the in-process sandbox's own
loggers (``authlib``, ``gorgias_sandbox``) are the test peer's, not the app's, and are
the only ones left out.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from gorgias_appkit.testing import FakeClock
from gorgias_sandbox import SandboxControl

from ..conftest import CLIENT_SECRET
from ..conftest import kit_env
from .support import Network
from .support import build_app
from .support import consent
from .support import decode_session
from .support import kit_of
from .support import start

PEER_LOGGERS = ("authlib", "gorgias_sandbox")


def _callback(client: FlaskClient, query: dict[str, str], pages: list[str]) -> int:
    response = client.get("/oauth/callback", query_string=query)
    pages.append(response.get_data(as_text=True))
    return response.status_code


def test_no_secret_in_logs_pages_or_database(
    sandbox: SandboxControl, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SEC-13: install, refresh, failing refresh, error pages and disconnect leak nothing."""
    sandbox.configure(rotate_refresh_tokens=True, access_token_ttl=120, id_token_on_refresh=True)
    network = Network(sandbox.base_url)
    db = tmp_path / "kit.sqlite3"
    app = build_app(
        kit_env(sandbox.base_url, f"sqlite:///{db}"),
        tmp_path,
        http=network.client,
        clock=FakeClock(),
    )
    kit = kit_of(app)
    client = app.test_client()
    pages: list[str] = []
    seen: list[dict[str, str]] = []
    debug = lambda: caplog.at_level(logging.DEBUG)  # noqa: E731 - the app's steps, captured

    def browse(account: str, decision: str = "approve") -> dict[str, str]:
        with debug():
            authorize = start(client, account)
        seen.append(consent(authorize, decision))  # the browser at Gorgias: not the app's logs
        return seen[-1]

    acme = browse("acme")
    with debug():
        assert _callback(client, acme, pages) == 303
        kit.access_token_for("acme")  # due (2-minute token, 5-minute leeway): refresh, rotate
        kit.access_token_for("acme")  # and once more
        sandbox.add_fault(path="/oauth/token", mode="status", status=500, count=-1)
        kit.access_token_for("acme")  # the refresh fails 4 times; the still-valid token is used
        sandbox.clear_faults()
    declined = browse("globex", decision="deny")
    with debug():
        assert _callback(client, declined, pages) == 403
        assert _callback(client, {**acme, "code": "x"}, pages) == 400  # replayed state
    initech = browse("initech")
    with debug():
        sandbox.add_fault(
            path="/oauth/token",
            mode="status",
            status=400,
            body={"error": "invalid_grant", "error_description": initech["code"]},
        )
        assert _callback(client, initech, pages) == 400  # the peer echoes the code back
        token = decode_session(client.get_cookie("session").value)["csrf"]  # type: ignore[union-attr]
        response = client.post("/accounts/acme/disconnect", data={"csrf_token": token})
        assert response.status_code == 303
        response = client.get(response.headers["Location"])
        pages.append(response.get_data(as_text=True))
        assert response.status_code == 200
    kit.close()

    grants = sandbox.grants()
    secrets_ = [CLIENT_SECRET]
    for grant in grants:
        secrets_ += [t["token"] for t in grant["access_tokens"]]
        secrets_ += [t["token"] for t in grant["refresh_tokens"]]
    secrets_ += [q[k] for q in seen for k in ("code", "state") if k in q]
    assert len([g for g in grants if g["account"] == "acme"]) == 1
    assert len(secrets_) >= 10 and all(len(s) >= 20 for s in secrets_)

    formatter = logging.Formatter("%(name)s %(message)s")
    logs = "\n".join(
        formatter.format(r) for r in caplog.records if not r.name.startswith(PEER_LOGGERS)
    )
    assert "HTTP Request: POST" in logs and "token refresh failed" in logs  # it captured the run
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("kit.sqlite3*"))
    html = "\n".join(pages)
    for value in secrets_:
        assert value not in logs, "a secret reached the logs"
        assert value not in html, "a secret reached a page"
        assert value.encode() not in raw, "a secret reached the database file"
    assert network.foreign() == []
