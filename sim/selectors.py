"""Label and field selectors with the apiserver's grammar, semantics and error wording.

Label selectors: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, comma-joined (a
comma inside parentheses belongs to the value list). `!=` and `notin` also match objects without the
key, as in Kubernetes. Field selectors: `f=v`, `f==v`, `f!=v` over the fields each kind indexes;
any other field is refused with 400, which is what lets `kubectl describe` find an object's events
through involvedObject.* and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sim.errors import bad_request

Obj = dict[str, Any]
Matcher = Callable[[Obj], bool]

_TOKEN = re.compile(r"\s*(==|!=|=|!|\(|\)|,|[^\s,()!=]+)")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if self.operator in ("=", "in"):
            return present and value in self.values
        return not present or value not in self.values  # "!=", "notin"


def _check_key(key: str) -> str:
    prefix, _, name = key.rpartition("/")
    if not _LABEL_NAME.match(name) or len(name) > 63 or len(prefix) > 253:
        raise bad_request(
            f"unable to parse requirement: key: Invalid value: {key!r}: name part must consist of "
            "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        )
    return key


def _check_value(value: str) -> str:
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise bad_request(
            f"unable to parse requirement: values[0]: Invalid value: {value!r}: a valid label must be an empty "
            "string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character"
        )
    return value


def parse_label_selector(text: str) -> list[Requirement]:
    """Parse a labelSelector query value; raises ApiError 400 with a parse message on bad input."""
    tokens = _TOKEN.findall(text.strip()) if text.strip() else []
    if "".join(tokens).replace(" ", "") != re.sub(r"\s+", "", text):
        raise bad_request(f"unable to parse requirement: invalid selector: {text!r}")
    requirements: list[Requirement] = []
    pos = 0

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise bad_request(f"unable to parse requirement: found '', expected: identifier in {text!r}")
        pos += 1
        return tokens[pos - 1]

    while pos < len(tokens):
        token = take()
        if token == "!":
            requirements.append(Requirement(_check_key(take()), "!"))
        else:
            key = _check_key(token)
            op = tokens[pos] if pos < len(tokens) else ","
            if op == ",":
                requirements.append(Requirement(key, "exists"))
            elif op in ("=", "==", "!="):
                pos += 1
                value = tokens[pos] if pos < len(tokens) and tokens[pos] != "," else ""
                pos += 1 if value else 0
                requirements.append(Requirement(key, "!=" if op == "!=" else "=", (_check_value(value),)))
            elif op in ("in", "notin"):
                pos += 1
                if take() != "(":
                    raise bad_request(f"unable to parse requirement: found '{tokens[pos - 1]}', expected: '('")
                values: list[str] = []
                while (item := take()) != ")":
                    if item != ",":
                        values.append(_check_value(item))
                requirements.append(Requirement(key, op, tuple(values)))
            else:
                raise bad_request(
                    f"unable to parse requirement: found '{op}', expected: in, notin, =, ==, !=, gt, lt"
                )
        if pos < len(tokens):
            if tokens[pos] != ",":
                raise bad_request(f"unable to parse requirement: found '{tokens[pos]}', expected: ','")
            pos += 1
    return requirements


def label_matcher(text: str | None) -> Matcher:
    if not text:
        return lambda obj: True
    requirements = parse_label_selector(text)

    def matches(obj: Obj) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r.matches(labels) for r in requirements)

    return matches


# -- field selectors -------------------------------------------------------------------------------
def _path(dotted: str) -> Callable[[Obj], str]:
    parts = dotted.split(".")

    def get(obj: Obj) -> str:
        value: Any = obj
        for part in parts:
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)

    return get


_EVENT_FIELDS = (
    "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
    "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
    "reason", "reportingComponent", "type",
)
# Per stored kind, the fields the apiserver indexes beyond metadata.name and metadata.namespace.
FIELDS: dict[str, dict[str, Callable[[Obj], str]]] = {
    "Pod": {f: _path(f) for f in (
        "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
        "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName")},
    "Event": {
        **{f: _path(f) for f in _EVENT_FIELDS},
        "source": lambda e: str((e.get("source") or {}).get("component") or e.get("reportingComponent") or ""),
    },
    "Node": {"spec.unschedulable": _path("spec.unschedulable")},
    "Namespace": {"status.phase": _path("status.phase")},
    "Secret": {"type": _path("type")},
    "ReplicaSet": {"status.replicas": _path("status.replicas")},
    "Job": {"status.successful": _path("status.successful")},
}
_COMMON = {"metadata.name": _path("metadata.name"), "metadata.namespace": _path("metadata.namespace")}


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, current, escaped = [], "", False
    for char in text:
        if escaped:
            current += "\\" + char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == sep:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def field_matcher(text: str | None, kind: str) -> Matcher:
    """Build a matcher for a fieldSelector on objects of the stored `kind`; 400 on unknown fields."""
    if not text:
        return lambda obj: True
    known = {**_COMMON, **FIELDS.get(kind, {})}
    terms: list[tuple[Callable[[Obj], str], bool, str]] = []
    for term in _split_unescaped(text, ","):
        if not term.strip():
            continue
        match = re.match(r"^\s*([^=!\s]+)\s*(==|!=|=)(.*)$", term)
        if not match:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        name, op, value = match.group(1), match.group(2), _unescape(match.group(3).strip())
        if name not in known:
            raise bad_request(f'field label not supported: {name}')
        terms.append((known[name], op == "!=", value))

    def matches(obj: Obj) -> bool:
        return all((get(obj) == value) != negate for get, negate, value in terms)

    return matches


def selector_string(match_labels: dict[str, str] | None) -> str:
    """matchLabels rendered the way Scale.status.selector and kubectl print a selector."""
    return ",".join(f"{k}={v}" for k, v in sorted((match_labels or {}).items()))


def selector_matches(selector: Obj | None, labels: dict[str, str]) -> bool:
    """metav1.LabelSelector (matchLabels, matchExpressions In/NotIn/Exists/DoesNotExist) against labels; the empty
    selector matches everything (callers decide what a null selector means)."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if (op == "In" and (not present or labels[key] not in values)) or \
                (op == "NotIn" and present and labels[key] in values) or \
                (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return True
