"""Refresh grant (rotation, reuse detection, grace) and revocation (RFC 7009, uninstall)."""

from __future__ import annotations

from typing import Any

import jwt


def test_refresh_without_rotation_has_no_refresh_token_field(flow: Any) -> None:
    """By default a refresh returns a new access token and no refresh_token or id_token."""
    tokens = flow.tokens()
    response = flow.refresh(tokens["refresh_token"])
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    body = response.json()
    assert "refresh_token" not in body and "id_token" not in body
    assert body["expires_in"] == 0 and body["access_token"] != tokens["access_token"]
    assert flow.refresh(tokens["refresh_token"]).status_code == 200  # still usable
    (grant,) = flow.grants()
    assert [e["result"] for e in grant["refresh_log"]] == ["ok", "ok"]
    assert len(grant["refresh_tokens"]) == 1 and len(grant["access_tokens"]) == 3


def test_rotation_issues_a_new_refresh_token_and_supersedes_the_old(flow: Any) -> None:
    """With rotation on, each refresh returns a new refresh token; the old one is superseded."""
    flow.configure(rotate_refresh_tokens=True)
    first = flow.tokens()["refresh_token"]
    second = flow.refresh(first).json()["refresh_token"]
    third = flow.refresh(second).json()["refresh_token"]
    assert len({first, second, third}) == 3
    (grant,) = flow.grants()
    assert [rt["status"] for rt in grant["refresh_tokens"]] == [
        "superseded",
        "superseded",
        "current",
    ]
    assert grant["current_refresh_token"] == third


def test_reuse_of_superseded_refresh_token_revokes_the_whole_grant(flow: Any) -> None:
    """Presenting a superseded refresh token fails and kills every token of the grant."""
    flow.configure(rotate_refresh_tokens=True)
    old = flow.tokens()["refresh_token"]
    fresh = flow.refresh(old).json()
    reuse = flow.refresh(old)
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert flow.refresh(fresh["refresh_token"]).json()["error"] == "invalid_grant"
    assert flow.api("GET", "/account", fresh["access_token"]).status_code == 401
    (grant,) = flow.grants()
    assert grant["status"] == "revoked" and grant["revoked_reason"] == "refresh_token_reuse"
    results = [(e["refresh_token"], e["result"]) for e in grant["refresh_log"]]
    assert results == [(old, "ok"), (old, "reuse_detected"), (fresh["refresh_token"], "revoked")]


def test_reuse_without_detection_only_refuses_the_old_token(flow: Any) -> None:
    """With reuse_detection off, a superseded token fails but the grant survives."""
    flow.configure(rotate_refresh_tokens=True, reuse_detection=False)
    old = flow.tokens()["refresh_token"]
    fresh = flow.refresh(old).json()["refresh_token"]
    assert flow.refresh(old).json()["error"] == "invalid_grant"
    assert flow.refresh(fresh).status_code == 200
    assert flow.grants()[0]["status"] == "active"


def test_reuse_inside_grace_window_returns_the_current_token(flow: Any) -> None:
    """Within reuse_grace_seconds the old token works and yields the current refresh token."""
    flow.configure(rotate_refresh_tokens=True, reuse_grace_seconds=30)
    old = flow.tokens()["refresh_token"]
    fresh = flow.refresh(old).json()["refresh_token"]
    again = flow.refresh(old)
    assert again.status_code == 200 and again.json()["refresh_token"] == fresh
    assert flow.refresh(fresh).status_code == 200
    assert [e["result"] for e in flow.grants()[0]["refresh_log"]] == ["ok", "grace", "ok"]


def test_id_token_on_refresh_only_when_configured(flow: Any) -> None:
    """id_token_on_refresh adds a fresh id_token (same sub, new iat) to refresh responses."""
    flow.configure(id_token_on_refresh=True)
    tokens = flow.tokens()
    body = flow.refresh(tokens["refresh_token"]).json()
    first = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    second = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert second["sub"] == first["sub"] and second["aud"] == first["aud"]
    assert "nonce" not in second


def test_refresh_token_is_bound_to_client_and_account(flow: Any) -> None:
    """Another client or another account's endpoint cannot use the refresh token."""
    flow.http.post(
        "/_sandbox/clients",
        json={
            "client_id": "app2",
            "client_secret": "s2",
            "redirect_uris": ["https://x.example/cb"],
        },
    )
    rt = flow.tokens()["refresh_token"]
    assert flow.refresh(rt, auth=("app2", "s2")).json()["error"] == "invalid_grant"
    assert flow.refresh(rt, account="globex").json()["error"] == "invalid_grant"
    assert flow.refresh(rt).status_code == 200


def test_revoke_refresh_token_keeps_access_token_by_default(flow: Any) -> None:
    """Revoking the refresh token stops refreshes; the JWT access token lives on (Gorgias)."""
    tokens = flow.tokens()
    response = flow.revoke(tokens["refresh_token"], token_type_hint="refresh_token")
    assert response.status_code == 200 and response.json() == {}
    assert response.headers["cache-control"] == "no-store"
    assert flow.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert flow.api("GET", "/account", tokens["access_token"]).status_code == 200
    assert flow.grants()[0]["revoked_reason"] == "revoked_by_client"


def test_revoke_can_also_kill_access_tokens(flow: Any) -> None:
    """With revoke_access_tokens_on_revoke on, the grant's access tokens stop working."""
    flow.configure(revoke_access_tokens_on_revoke=True)
    tokens = flow.tokens()
    flow.revoke(tokens["refresh_token"])
    assert flow.api("GET", "/account", tokens["access_token"]).status_code == 401


def test_revoke_unknown_or_repeated_token_is_200(flow: Any) -> None:
    """Unknown and already-revoked tokens still get 200 {} (RFC 7009 §2.2)."""
    rt = flow.tokens()["refresh_token"]
    assert flow.revoke("no-such-token").json() == {}
    assert flow.revoke(rt).status_code == 200 and flow.revoke(rt).status_code == 200


def test_revoke_requires_client_auth(flow: Any) -> None:
    """Revocation without valid client credentials is 401 invalid_client."""
    rt = flow.tokens()["refresh_token"]
    response = flow.http.post("/acme/oauth/revoke", data={"token": rt}, auth=("x", "y"))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert flow.refresh(rt).status_code == 200


def test_uninstall_revokes_every_grant_of_the_account(flow: Any) -> None:
    """POST /_sandbox/accounts/<a>/revoke ends all its grants and leaves others alone."""
    a1, a2 = flow.tokens(), flow.tokens()
    other = flow.tokens("globex")
    response = flow.http.post("/_sandbox/accounts/acme/revoke")
    assert response.json() == {"revoked": 2}
    for tokens in (a1, a2):
        assert flow.refresh(tokens["refresh_token"]).json()["error"] == "invalid_grant"
        assert flow.api("GET", "/account", tokens["access_token"]).status_code == 200
    assert flow.refresh(other["refresh_token"], account="globex").status_code == 200
    assert all(g["revoked_reason"] == "uninstalled" for g in flow.grants())
