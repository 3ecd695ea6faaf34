"""Kubernetes naming rules and one-sentence messages for bad arguments."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agents.safety.validation import (
    ObjectName,
    ToolParams,
    check_kind,
    check_label,
    check_selector,
    check_subdomain,
    describe_validation_error,
)


@pytest.mark.parametrize("name", ["web", "web-1", "a", "memory-hog-5cdd5d989-6pfx8", "x" * 63])
def test_valid_labels(name: str) -> None:
    assert check_label(name) == name


@pytest.mark.parametrize("name", ["", "Web", "web_1", "-web", "web-", "web 1", "ü", "../x", "x" * 64, "a;b", "$(id)"])
def test_invalid_labels(name: str) -> None:
    with pytest.raises(ValueError, match="is not a valid Kubernetes name"):
        check_label(name)


@pytest.mark.parametrize(("name", "ok"), [("kube-root-ca.crt", True), ("a.b.c", True), ("a..b", False),
                                          (".a", False), ("x" * 254, False)])
def test_subdomains(name: str, ok: bool) -> None:
    if ok:
        assert check_subdomain(name) == name
    else:
        with pytest.raises(ValueError):
            check_subdomain(name)


@pytest.mark.parametrize(("kind", "ok"), [("Pod", True), ("deployments", True), ("HPA", True), ("Pod/x", False),
                                          ("../Pod", False), ("1Pod", False)])
def test_kinds(kind: str, ok: bool) -> None:
    if ok:
        assert check_kind(kind) == kind
    else:
        with pytest.raises(ValueError):
            check_kind(kind)


@pytest.mark.parametrize(("selector", "ok"), [
    ("app=web", True), ("app==web", True), ("tier!=db", True), ("!canary", True), ("app in (web,api)", True),
    ("app.kubernetes.io/name=web,env notin (prod)", True), ("app=", True),
    ("../etc", False), ("app=web;rm", False), ("$(id)", False), ("a b", False), ("app=" + "v" * 64, False),
])
def test_selectors(selector: str, ok: bool) -> None:
    if ok:
        assert check_selector(selector) == selector
    else:
        with pytest.raises(ValueError, match="is not a label selector"):
            check_selector(selector)


class Params(ToolParams):
    name: ObjectName
    tail: int = 10


def test_validation_message_names_each_argument() -> None:
    with pytest.raises(ValidationError) as info:
        Params.model_validate({"name": "Bad Name", "tail": "many", "shell": "rm"})
    assert describe_validation_error("get_logs", info.value) == (
        "invalid arguments for get_logs: name: 'Bad Name' is not a valid Kubernetes name: use at most 253 "
        "lowercase letters, digits, '-' and '.', starting and ending with a letter or digit; tail: Input should "
        "be a valid integer, unable to parse string as an integer; shell: unexpected argument; fix them and "
        "call again.")
