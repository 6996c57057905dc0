"""REST API routes for the objects an app creates on install: HTTP integrations and widgets.

Only ``type: "http"`` integrations can be created (as on Gorgias); ``http.triggers`` follows
``triggers.py`` (either spelling in, config ``integration_trigger_spelling`` out). A PUT on an
integration keeps the fields it does not send (``http`` is replaced whole when sent); sending
``"deactivated_datetime": null`` reactivates a deactivated integration and restarts its failure
count. Deleting an integration that a widget still uses answers 409 unless config
``integration_delete_with_widgets`` is on (Gorgias' behaviour here is medium-confidence).
Widgets reference an integration by ``integration_id``; PUT replaces a widget whole. DELETE
answers 204 with an empty body. ``GET /_sandbox/accounts/<account>/objects`` lists what exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from . import triggers
from .apiguard import api_error, created, json_body, list_response, not_found
from .context import current_account, current_world
from .seed import now_iso

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
WIDGET_CONTEXTS = ("ticket", "customer", "user")
CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded")
_HTTP_DEFAULTS: dict[str, Any] = {
    "headers": {},
    "form": {},
    "request_content_type": "application/json",
    "response_content_type": "application/json",
}
_KEPT_ON_PUT = ("name", "type", "http", "description", "deactivated_datetime", "meta")


def _spelling() -> str:
    return current_world().config.integration_trigger_spelling


def _http_problems(http: Any) -> list[str]:
    if not isinstance(http, dict):
        return ["Missing data for required field."]
    out = []
    url, method = http.get("url"), http.get("method")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        out.append("url: must be an http(s) URL.")
    if method not in HTTP_METHODS:
        out.append(f"method: must be one of {', '.join(HTTP_METHODS)}.")
    for name in ("headers", "form"):
        if not isinstance(http.get(name, {}), dict):
            out.append(f"{name}: must be an object.")
    if http.get("request_content_type", CONTENT_TYPES[0]) not in CONTENT_TYPES:
        out.append(f"request_content_type: must be one of {', '.join(CONTENT_TYPES)}.")
    if http.get("response_content_type", CONTENT_TYPES[0]) != CONTENT_TYPES[0]:
        out.append("response_content_type: must be application/json.")
    if "triggers" in http:
        out += triggers.normalise(http["triggers"], _spelling())[1]
    return out


def _integration_problems(body: dict[str, Any]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        problems["name"] = ["Missing data for required field."]
    if body.get("type") != "http":
        problems["type"] = ["Only integrations of type 'http' can be created."]
    http = _http_problems(body.get("http"))
    if http:
        problems["http"] = http
    if not isinstance(body.get("deactivated_datetime", ""), str | None):
        problems["deactivated_datetime"] = ["Must be null or a date-time."]
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
    http = {**_HTTP_DEFAULTS, **body["http"]}
    if "triggers" in http:
        http["triggers"] = triggers.normalise(http["triggers"], _spelling())[0]
    else:
        http["triggers"] = triggers.default_triggers(_spelling())
    deactivated = body.get("deactivated_datetime")
    if old is not None and old["deactivated_datetime"] is not None and deactivated is None:
        current_world().deliveries.forget_failures(acct.domain, new_id)  # reactivated
    return {
        "id": new_id,
        "name": body["name"],
        "type": "http",
        "description": body.get("description"),
        "http": http,
        "created_datetime": old["created_datetime"] if old else now,
        "updated_datetime": now,
        "deactivated_datetime": deactivated,
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


def _integration_in_use(integration_id: int) -> Response | None:
    """409 when widgets still show this integration (unless the config allows it)."""
    if current_world().config.integration_delete_with_widgets:
        return None
    users = sorted(
        w["id"]
        for w in current_account().widgets.values()
        if w.get("integration_id") == integration_id
    )
    if not users:
        return None
    ids = ", ".join(str(i) for i in users)
    return api_error(
        409,
        f"Integration {integration_id} is used by widget(s) {ids}: delete them first.",
        {"widgets": users},
    )


@dataclass(frozen=True)
class _Kind:
    """How one collection (integrations or widgets) validates, builds and guards objects."""

    name: str
    check: Callable[[dict[str, Any]], dict[str, list[str]]]
    build: Callable[[dict[str, Any], dict[str, Any] | None], dict[str, Any]]
    kept_on_put: tuple[str, ...] = ()
    before_delete: Callable[[int], Response | None] = lambda _id: None

    @property
    def label(self) -> str:
        return self.name[:-1]

    def objects(self) -> dict[int, dict[str, Any]]:
        found: dict[int, dict[str, Any]] = getattr(current_account(), self.name)
        return found


def register(bp: Blueprint) -> None:
    """Add the integration and widget routes to the API blueprint."""
    for kind in (
        _Kind(
            "integrations",
            _integration_problems,
            _integration,
            _KEPT_ON_PUT,
            _integration_in_use,
        ),
        _Kind("widgets", _widget_problems, _widget),
    ):
        _register_kind(bp, kind)


def _save(kind: _Kind, body: dict[str, Any] | None, old: dict[str, Any] | None) -> Response:
    failed = f"Failed to {'update' if old else 'create'} {kind.label}"
    if body is None:
        return api_error(400, failed, {"body": ["Must be a JSON object."]})
    if old is not None:
        body = {**{k: old[k] for k in kind.kept_on_put}, **body}
    problems = kind.check(body)
    if problems:
        return api_error(400, failed, problems)
    obj = kind.build(body, old)
    kind.objects()[obj["id"]] = obj
    return jsonify(obj) if old else created(obj)


def _register_kind(bp: Blueprint, kind: _Kind) -> None:
    def list_view(account: str) -> Response:
        with current_world().lock:
            items = list(kind.objects().values())
        return list_response(items, f"/api/{kind.name}")

    def create_view(account: str) -> Response:
        with current_world().lock:
            return _save(kind, json_body(), None)

    def item_view(account: str, obj_id: int) -> Response:
        with current_world().lock:
            old = kind.objects().get(obj_id)
            if old is None:
                return not_found()
            if request.method == "GET":
                return jsonify(old)
            if request.method == "PUT":
                return _save(kind, json_body(), old)
            refused = kind.before_delete(obj_id)
            if refused is not None:
                return refused
            del kind.objects()[obj_id]
            return Response(status=204)

    rule = f"/{kind.name}"
    bp.add_url_rule(rule, f"list_{kind.name}", list_view, methods=["GET"], strict_slashes=False)
    bp.add_url_rule(
        rule, f"create_{kind.name}", create_view, methods=["POST"], strict_slashes=False
    )
    bp.add_url_rule(
        f"{rule}/<int:obj_id>",
        f"{kind.label}_item",
        item_view,
        methods=["GET", "PUT", "DELETE"],
        strict_slashes=False,
    )
