"""Argument validation for tool calls: Kubernetes naming rules as pydantic types, and one-sentence
messages from validation errors, fed back to the model so it can correct itself.

Names are checked before anything reaches the API, so a hostile or hallucinated argument (spaces,
unicode, `../`, shell metacharacters, 256 characters) never becomes part of a URL.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
# Kinds and resource names as a person or model types them: "Pod", "deployments", "pvc", "HPA".
KIND = re.compile(r"[A-Za-z][A-Za-z0-9]{0,62}")
# Label selector terms: `key`, `!key`, `key=value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`,
# where a key is an optional DNS prefix plus a name. Nothing a URL or a shell would read twice.
_KEY = r"(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?"
SELECTOR_TERM = re.compile(
    rf"\s*(?:!?{_KEY}|{_KEY}\s*(?:==?|!=)\s*{_VALUE}|{_KEY}\s+(?:in|notin)\s*\(\s*{_VALUE}(?:\s*,\s*{_VALUE})*\s*\))\s*")
_TERM_SPLIT = re.compile(r",(?![^()]*\))")


def check_label(value: str) -> str:
    """A DNS-1123 label: namespaces, container names, Service names."""
    if not is_label(value):
        raise ValueError(f"{value[:80]!r} is not a valid Kubernetes name: use at most 63 lowercase letters, "
                         "digits and '-', starting and ending with a letter or digit")
    return value


def check_subdomain(value: str) -> str:
    """A DNS-1123 subdomain: most object names (pods, deployments, nodes, config maps)."""
    if not is_subdomain(value):
        raise ValueError(f"{value[:80]!r} is not a valid Kubernetes name: use at most 253 lowercase letters, "
                         "digits, '-' and '.', starting and ending with a letter or digit")
    return value


def is_label(value: str) -> bool:
    """`check_label` as a yes/no, for callers that fall back instead of reporting."""
    return len(value) <= 63 and DNS1123_LABEL.fullmatch(value) is not None


def is_subdomain(value: str) -> bool:
    """`check_subdomain` as a yes/no."""
    return len(value) <= 253 and DNS1123_SUBDOMAIN.fullmatch(value) is not None


def check_kind(value: str) -> str:
    if not KIND.fullmatch(value):
        raise ValueError(f"{value[:80]!r} is not a Kubernetes kind (e.g. Pod, Deployment, ConfigMap)")
    return value


def check_selector(value: str) -> str:
    if not all(SELECTOR_TERM.fullmatch(term) for term in _TERM_SPLIT.split(value)):
        raise ValueError(f"{value[:80]!r} is not a label selector (e.g. app=web or app in (web,api))")
    return value


def check_printable(value: str) -> str:
    """Free text for a query (PromQL, a search): printable, newlines allowed, no control characters."""
    if not value.replace("\n", " ").isprintable():
        raise ValueError("must be printable text")
    return value


ObjectName = Annotated[str, Field(max_length=253, description="Object name (DNS-1123 subdomain)."),
                       AfterValidator(check_subdomain)]
Namespace = Annotated[str, Field(max_length=63, description="Namespace name."), AfterValidator(check_label)]
ContainerName = Annotated[str, Field(max_length=63, description="Container name."), AfterValidator(check_label)]
KindName = Annotated[str, Field(max_length=63, description="Kubernetes kind, e.g. Pod, Deployment, ConfigMap."),
                     AfterValidator(check_kind)]
QueryText = Annotated[str, AfterValidator(check_printable)]
LabelSelector = Annotated[str, Field(max_length=500, description="Label selector, e.g. app=web."),
                          AfterValidator(check_selector)]


class ToolParams(BaseModel):
    """Base of every tool's parameter model: unknown arguments are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def describe_validation_error(tool: str, exc: ValidationError) -> str:
    """One sentence naming each bad argument, e.g. "invalid arguments for get_logs: name: ... ; tail: ..."."""
    problems = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "arguments"
        if err["type"] == "extra_forbidden":
            problems.append(f"{where}: unexpected argument")
        elif err["type"] == "missing":
            problems.append(f"{where}: required")
        else:
            problems.append(f"{where}: {_short(err['msg'])}")
    return f"invalid arguments for {tool}: " + "; ".join(problems) + "; fix them and call again."


def _short(msg: str) -> str:
    return msg.removeprefix("Value error, ")[:300]


def validate_args(params: type[BaseModel], args: Any) -> BaseModel:
    """Validate raw model arguments (must be a JSON object) into the tool's parameter model."""
    if not isinstance(args, dict):
        raise TypeError(f"arguments must be a JSON object, got {type(args).__name__}")
    return params.model_validate(args)
