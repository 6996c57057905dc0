"""Authorization endpoint: consent page, approve/deny, refusals, auto-approve, iss."""

from __future__ import annotations

from typing import Any

import jwt


def test_consent_page_lists_account_user_app_and_scopes(flow: Any) -> None:
    """The consent page shows the account, a user picker, the app name and each scope."""
    response = flow.consent(scope="openid offline tickets:read integrations:write")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "Acme Inc" in page and "Sandbox App" in page and "Signed in as" in page
    assert '<select id="user_id" name="user_id">' in page
    for scope in ("openid", "offline", "tickets:read", "integrations:write"):
        assert f'data-scope="{scope}"' in page
    assert "Read tickets, messages and views" in page
    assert 'id="approve" name="decision" value="approve"' in page
    assert 'id="deny" name="decision" value="deny"' in page
    assert "http" not in page.split("<style>")[1].split("</style>")[0]  # no external assets


def test_consent_form_posts_back_to_the_same_url(flow: Any) -> None:
    """The form's action keeps the full authorize query string."""
    page = flow.consent(state="keep-me").text
    action = page.split('action="')[1].split('"')[0]
    assert action.startswith("/acme/oauth/authorize?") and "state=keep-me" in action


def test_approve_redirects_with_code_and_state(flow: Any) -> None:
    """Approving redirects to the redirect_uri with a code and the same state, no iss."""
    response = flow.decide("approve", state="abc")
    assert response.status_code == 302
    assert response.headers["location"].startswith(flow.REDIRECT_URI + "?")
    params = flow.query_of(response)
    assert params["state"] == "abc" and len(params["code"]) >= 40 and "iss" not in params


def test_deny_redirects_with_access_denied(flow: Any) -> None:
    """Denying redirects with error=access_denied, a description and the state."""
    response = flow.decide("deny", state="abc")
    params = flow.query_of(response)
    assert response.status_code == 302
    assert params["error"] == "access_denied" and params["state"] == "abc"
    assert params["error_description"]
    assert flow.world.store.codes == {}


def test_send_iss_adds_issuer_to_redirects(flow: Any) -> None:
    """With send_iss on, approve and deny redirects carry iss = the account base URL."""
    flow.configure(send_iss=True)
    assert flow.query_of(flow.decide("approve"))["iss"] == "http://sandbox.test/acme"
    assert (
        flow.query_of(flow.decide("deny", account="globex"))["iss"] == "http://sandbox.test/globex"
    )


def test_unknown_client_gets_an_html_error_not_a_redirect(flow: Any) -> None:
    """An unknown client_id is answered with an HTML page, never a redirect."""
    response = flow.consent(client_id="nope")
    assert response.status_code == 400 and "location" not in response.headers
    assert "text/html" in response.headers["content-type"]
    assert "invalid_client" in response.text


def test_unregistered_redirect_uri_is_never_redirected_to(flow: Any) -> None:
    """With redirect_uri_match=exact a URI not registered exactly is refused with an HTML page."""
    flow.configure(redirect_uri_match="exact")
    for uri in (
        "https://evil.example/cb",
        flow.REDIRECT_URI + "/x",
        flow.REDIRECT_URI + "?account=acme",
    ):
        response = flow.consent(redirect_uri=uri)
        assert response.status_code == 400 and "location" not in response.headers
        post = flow.decide("approve", redirect_uri=uri)
        assert post.status_code == 400 and "location" not in post.headers


def test_prefix_matching_accepts_extended_redirect_uri(flow: Any) -> None:
    """With redirect_uri_match=prefix a registered prefix plus a query is accepted."""
    flow.configure(redirect_uri_match="prefix")
    response = flow.decide("approve", redirect_uri=flow.REDIRECT_URI + "?account=acme")
    assert response.status_code == 302
    assert response.headers["location"].startswith(flow.REDIRECT_URI + "?account=acme&code=")


def test_unknown_scope_redirects_with_invalid_scope(flow: Any) -> None:
    """An unknown scope is reported to the (verified) redirect_uri as invalid_scope."""
    response = flow.consent(scope="tickets:read tickets.read")
    assert response.status_code == 302 and flow.query_of(response)["error"] == "invalid_scope"


def test_unknown_account_gets_html_404(flow: Any) -> None:
    """Authorize on an unknown account answers an HTML 404 page."""
    response = flow.consent(account="nobody")
    assert response.status_code == 404 and "text/html" in response.headers["content-type"]


def test_auto_approve_redirects_at_once(flow: Any) -> None:
    """With auto_approve the GET redirects with a code for the account owner."""
    flow.configure(auto_approve=True)
    response = flow.consent()
    assert response.status_code == 302
    code = flow.query_of(response)["code"]
    assert flow.world.store.codes[code].user_id == flow.world.accounts["acme"].owner()["id"]


def test_chosen_user_becomes_the_token_subject(flow: Any) -> None:
    """The user picked on the consent page is the integer sub of the tokens."""
    user = flow.world.accounts["acme"].users[3]
    code = flow.decide("approve", user_id=user["id"])
    tokens = flow.exchange(flow.query_of(code)["code"]).json()
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["sub"] == user["id"] and isinstance(claims["sub"], int)


def test_bad_form_values_are_refused(flow: Any) -> None:
    """A missing decision or a user of another account gives a 400 page."""
    bad_decision = flow.http.post(
        "/acme/oauth/authorize", params=flow.authorize_params(), data={"decision": "maybe"}
    )
    assert bad_decision.status_code == 400
    stranger = flow.world.accounts["globex"].users[0]["id"]
    if flow.world.accounts["acme"].user(stranger) is None:
        assert flow.decide("approve", user_id=stranger).status_code == 400


def test_pkce_plain_is_refused_at_authorize(flow: Any) -> None:
    """code_challenge_method=plain (or none given) is refused with invalid_request."""
    challenge = "a" * 43
    for method in ("plain", None):
        response = flow.consent(code_challenge=challenge, code_challenge_method=method)
        assert response.status_code == 302
        assert flow.query_of(response)["error"] == "invalid_request"


def test_require_pkce_refuses_requests_without_challenge(flow: Any) -> None:
    """With require_pkce on, an authorize request without code_challenge is refused."""
    flow.configure(require_pkce=True)
    response = flow.consent()
    assert response.status_code == 302 and flow.query_of(response)["error"] == "invalid_request"


def test_authorize_is_counted(flow: Any) -> None:
    """Authorize requests are counted as oauth.authorize, decisions separately."""
    flow.consent()
    flow.decide("approve")
    flow.decide("deny")
    counters = flow.world.stats()["counters"]["acme"]
    assert counters["oauth.authorize"] == 3
    assert counters["oauth.authorize.approve"] == 1 and counters["oauth.authorize.deny"] == 1


def test_client_registered_through_control_api_can_authorize(flow: Any) -> None:
    """A client added with POST /_sandbox/clients can run the whole flow."""
    created = flow.http.post(
        "/_sandbox/clients",
        json={
            "client_id": "other-app",
            "client_secret": "other-secret",
            "name": "Other App",
            "redirect_uris": ["https://other.example/cb"],
        },
    )
    assert created.status_code == 201
    response = flow.decide(
        "approve", client_id="other-app", redirect_uri="https://other.example/cb"
    )
    code = flow.query_of(response)["code"]
    token = flow.exchange(
        code, redirect_uri="https://other.example/cb", auth=("other-app", "other-secret")
    )
    assert token.status_code == 200
    wrong = flow.exchange(flow.code(), auth=("other-app", "other-secret"))
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_consent_page_is_accessible_plain_html(flow: Any) -> None:
    """The consent page has a lang attribute and a label bound to the user picker."""
    page = flow.consent().text
    assert '<html lang="en">' in page and '<label for="user_id">' in page
