"""REST API routes for the objects an app creates on install: HTTP integrations and widgets.

Only ``type: "http"`` integrations can be created (as on Gorgias). Widgets reference an
integration by ``integration_id``; PUT replaces a widget whole. DELETE answers 204 with an empty
body. ``GET /_sandbox/accounts/<account>/objects`` lists what exists, for leak checks.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from .apiguard import api_error, created, json_body, list_response, not_found
from .context import current_account, current_world
from .seed import now_iso

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
WIDGET_CONTEXTS = ("ticket", "customer", "user")
_HTTP_DEFAULTS: dict[str, Any] = {
    "headers": {},
    "form": {},
    "request_content_type": "application/json",
    "response_content_type": "application/json",
    "triggers": {"ticket_created": True, "ticket_updated": True, "ticket_message_created": False},
}


def _integration_problems(body: dict[str, Any]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        problems["name"] = ["Missing data for required field."]
    if body.get("type") != "http":
        problems["type"] = ["Only integrations of type 'http' can be created."]
    http = body.get("http")
    if not isinstance(http, dict):
        problems["http"] = ["Missing data for required field."]
    else:
        url, method = http.get("url"), http.get("method")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            problems.setdefault("http", []).append("url: must be an http(s) URL.")
        if method not in HTTP_METHODS:
            problems.setdefault("http", []).append(
                f"method: must be one of {', '.join(HTTP_METHODS)}."
            )
    return problems


def _widget_problems(body: dict[str, Any]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if not isinstance(body.get("type"), str) or not body["type"]:
        problems["type"] = ["Missing data for required field."]
    if body.get("context") not in WIDGET_CONTEXTS:
        problems["context"] = [f"Must be one of {', '.join(WIDGET_CONTEXTS)}."]
    integration_id = body.get("integration_id")
    if integration_id is not None and integration_id not in current_account().integrations:
        problems["integration_id"] = ["Integration not found."]
    if not isinstance(body.get("template", {}), dict):
        problems["template"] = ["Must be an object."]
    order = body.get("order", 0)
    if not isinstance(order, int) or isinstance(order, bool):
        problems["order"] = ["Must be an integer."]
    return problems


def _integration(body: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    acct, now = current_account(), now_iso()
    new_id = old["id"] if old else acct.new_id("integration")
    return {
        "id": new_id,
        "name": body["name"],
        "type": "http",
        "description": body.get("description"),
        "http": {**_HTTP_DEFAULTS, **body["http"]},
        "created_datetime": old["created_datetime"] if old else now,
        "updated_datetime": now,
        "deactivated_datetime": body.get("deactivated_datetime"),
        "locked_datetime": None,
        "uri": f"/api/integrations/{new_id}/",
        "user": {"id": g.sandbox_claims.get("sub")},
        "meta": body.get("meta") or {},
        "decoration": body.get("decoration"),
    }


def _widget(body: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    acct, now = current_account(), now_iso()
    new_id = old["id"] if old else acct.new_id("widget")
    return {
        "id": new_id,
        "type": body["type"],
        "context": body["context"],
        "integration_id": body.get("integration_id"),
        "template": body.get("template") or {"type": "wrapper", "widgets": []},
        "order": body.get("order", 0),
        "app_id": None,
        "created_datetime": old["created_datetime"] if old else now,
        "updated_datetime": now,
        "deactivated_datetime": None,
        "uri": f"/api/widgets/{new_id}/",
    }


def register(bp: Blueprint) -> None:
    """Add the integration and widget routes to the API blueprint."""
    for kind, store_name, check, build, merge in (
        ("integrations", "integrations", _integration_problems, _integration, True),
        ("widgets", "widgets", _widget_problems, _widget, False),
    ):
        _register_kind(bp, kind, store_name, check, build, merge)


def _register_kind(
    bp: Blueprint, kind: str, store_name: str, check: Any, build: Any, merge: bool
) -> None:
    label = kind[:-1]

    def objects() -> dict[int, dict[str, Any]]:
        found: dict[int, dict[str, Any]] = getattr(current_account(), store_name)
        return found

    def list_view(account: str) -> Response:
        with current_world().lock:
            items = list(objects().values())
        return list_response(items, f"/api/{kind}")

    def create_view(account: str) -> Response:
        body = json_body()
        if body is None:
            return api_error(400, f"Failed to create {label}", {"body": ["Must be a JSON object."]})
        with current_world().lock:
            problems = check(body)
            if problems:
                return api_error(400, f"Failed to create {label}", problems)
            obj = build(body, None)
            objects()[obj["id"]] = obj
            return created(obj)

    def item_view(account: str, obj_id: int) -> Response:
        with current_world().lock:
            old = objects().get(obj_id)
            if old is None:
                return not_found()
            if request.method == "GET":
                return jsonify(old)
            if request.method == "DELETE":
                del objects()[obj_id]
                return Response(status=204)
            body = json_body()
            if body is None:
                return api_error(
                    400, f"Failed to update {label}", {"body": ["Must be a JSON object."]}
                )
            if merge:
                body = {
                    "name": old["name"],
                    "type": old["type"],
                    "http": old["http"],
                    "description": old["description"],
                    **body,
                }
            problems = check(body)
            if problems:
                return api_error(400, f"Failed to update {label}", problems)
            objects()[obj_id] = build(body, old)
            return jsonify(objects()[obj_id])

    bp.add_url_rule(f"/{kind}", f"list_{kind}", list_view, methods=["GET"], strict_slashes=False)
    bp.add_url_rule(
        f"/{kind}", f"create_{kind}", create_view, methods=["POST"], strict_slashes=False
    )
    bp.add_url_rule(
        f"/{kind}/<int:obj_id>",
        f"{label}_item",
        item_view,
        methods=["GET", "PUT", "DELETE"],
        strict_slashes=False,
    )
