"""API errors as the real server reports them: a metav1.Status body with the matching HTTP code."""

from __future__ import annotations

from typing import Any

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    500: "InternalError",
}


class ApiError(Exception):
    """Raised anywhere below the HTTP layer; the server renders it as a Status and never as a traceback."""

    def __init__(
        self,
        code: int,
        message: str,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or _REASONS.get(code, "Unknown")
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def resource_label(plural: str, group: str) -> str:
    """How messages name a resource: 'pods', 'deployments.apps', 'ingresses.networking.k8s.io'."""
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        404,
        f'{resource_label(plural, group)} "{name}" not found',
        details={"name": name, "group": group, "kind": plural} if group else {"name": name, "kind": plural},
    )


def no_route() -> ApiError:
    return ApiError(404, "the server could not find the requested resource", details={})


def already_exists(plural: str, group: str, name: str) -> ApiError:
    details = {"name": name, "kind": plural, **({"group": group} if group else {})}
    return ApiError(409, f'{resource_label(plural, group)} "{name}" already exists', "AlreadyExists", details)


def conflict(plural: str, group: str, name: str) -> ApiError:
    details = {"name": name, "kind": plural, **({"group": group} if group else {})}
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {resource_label(plural, group)} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        "Conflict",
        details,
    )


def invalid(kind: str, group: str, name: str, field: str, message: str, cause: str) -> ApiError:
    """422 Invalid, worded like field.ErrorList: 'Pod "x" is invalid: metadata.name: Invalid value: ...'."""
    qualified = f"{kind}.{group}" if group else kind
    details = {
        "name": name,
        "kind": kind,
        **({"group": group} if group else {}),
        "causes": [{"reason": cause, "message": message, "field": field}],
    }
    return ApiError(422, f'{qualified} "{name}" is invalid: {field}: {message}', "Invalid", details)


def method_not_allowed() -> ApiError:
    return ApiError(405, "the server does not allow this method on the requested resource", details={})


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)
