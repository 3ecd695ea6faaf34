"""edit: round-trip YAML that keeps comments, order, quotes and indentation; diff and hash."""

from __future__ import annotations

import hashlib

import pytest

from agents.toolsets.gitops import REMOVE, FieldPathError, apply_change, changed_lines, diff_hash
from agents.toolsets.gitops.documents import split_documents
from agents.toolsets.gitops.edit import detect_indent
from sim.scenario import load_scenario, shipped_scenarios

ALL_FILES = [(p.stem, path, text) for p in shipped_scenarios() for path, text in load_scenario(p).gitops.files.items()]

DEPLOYMENT = """\
# web: the shop front
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: "nginx:1.27"   # pinned
          args: ["--port", "8080"]
          resources:
            limits:
              memory: 100Mi  # too small
"""


@pytest.mark.parametrize(("scenario", "path", "text"), ALL_FILES, ids=[f"{s}:{p}" for s, p, _ in ALL_FILES])
def test_an_edit_that_changes_nothing_changes_no_byte(scenario: str, path: str, text: str) -> None:
    for index, chunk in enumerate(split_documents(text)):
        if "apiVersion" in chunk.body:
            edit = apply_change(text, path, index, "apiVersion", _api_version(chunk.body))
            assert edit.new_text == text
            assert edit.diff == ""


def _api_version(body: str) -> str:
    return next(line.split(":", 1)[1].split("#")[0].strip() for line in body.splitlines()
                if line.startswith("apiVersion:"))


def test_adding_requests_goes_next_to_limits_and_keeps_comments() -> None:
    edit = apply_change(DEPLOYMENT, "web.yaml", 0, "spec.template.spec.containers[name=web].resources.requests.memory",
                        "128Mi")
    assert edit.new_text == DEPLOYMENT.replace("          resources:\n",
                                               "          resources:\n            requests:\n              memory: 128Mi\n")
    assert changed_lines(edit.diff) == (0, 2)
    assert edit.old_value is None


def test_quotes_and_flow_style_are_kept() -> None:
    edit = apply_change(DEPLOYMENT, "web.yaml", 0, "spec.template.spec.containers[web].image", "nginx:1.27.3")
    assert '+          image: "nginx:1.27.3"   # pinned\n' in edit.diff
    edit = apply_change(DEPLOYMENT, "web.yaml", 0, "spec.template.spec.containers[web].args[1]", "9090")
    assert '+          args: ["--port", "9090"]\n' in edit.diff
    assert changed_lines(edit.diff) == (1, 1)


def test_remove_deletes_the_field() -> None:
    edit = apply_change(DEPLOYMENT, "web.yaml", 0, "spec.template.spec.containers[name=web].args", REMOVE)
    assert changed_lines(edit.diff) == (1, 0)
    assert edit.old_value == ["--port", "8080"]


@pytest.mark.parametrize(("text", "expected"), [
    ("a:\n  b:\n    - x\n", (2, 4, 2)),
    ("a:\n  b:\n  - x\n", (2, 2, 0)),
    ("a:\n    b: 1\n", (4, 4, 2)),
    ("a: 1\n", (2, 4, 2)),
], ids=["dash-indented", "dash-flush", "four-space-maps", "flat-defaults"])
def test_indentation_is_read_from_the_file(text: str, expected: tuple[int, int, int]) -> None:
    assert detect_indent(text) == expected


def test_a_flush_sequence_file_stays_flush() -> None:
    text = "kind: Deployment\nspec:\n  containers:\n  - name: web\n    image: nginx:1.27\n"
    edit = apply_change(text, "d.yaml", 0, "spec.containers[name=web].image", "nginx:1.28")
    assert edit.new_text == text.replace("1.27", "1.28")


def test_diff_has_git_headers_and_the_hash_is_its_sha256() -> None:
    edit = apply_change(DEPLOYMENT, "apps/web.yaml", 0, "spec.template.spec.containers[name=web].resources.limits.memory",
                        "256Mi")
    assert edit.diff.splitlines()[:2] == ["--- a/apps/web.yaml", "+++ b/apps/web.yaml"]
    assert "+              memory: 256Mi  # too small\n" in edit.diff
    assert diff_hash(edit.diff) == hashlib.sha256(edit.diff.encode()).hexdigest()
    assert diff_hash(edit.diff) != diff_hash(edit.diff.replace("256Mi", "257Mi"))


@pytest.mark.parametrize(("path", "message"), [
    ("spec.template.spec.containers[name=web].image.tag", "the parent is not a mapping"),
    ("spec.template.spec.containers[3].image", "no such item"),
    ("spec..x[", "does not parse"),
], ids=["through-a-scalar", "index-past-the-end", "garbage"])
def test_paths_that_do_not_fit_say_so(path: str, message: str) -> None:
    with pytest.raises(FieldPathError) as caught:
        apply_change(DEPLOYMENT, "web.yaml", 0, path, "x")
    assert message in str(caught.value)


SECTIONS = """\
kind: Deployment
spec:
  nodeSelector:
    disk: ssd
  # tolerate batch nodes
  tolerations: []
  resources:
    limits:
      memory: 1Gi
  # next section
  other: x
"""


def test_deleting_a_field_keeps_the_comment_that_introduces_the_next_one() -> None:
    edit = apply_change(SECTIONS, "f.yaml", 0, "spec.nodeSelector", REMOVE)
    assert edit.new_text == SECTIONS.replace("  nodeSelector:\n    disk: ssd\n", "")


def test_a_new_field_goes_above_the_comment_that_introduces_the_next_section() -> None:
    edit = apply_change(SECTIONS, "f.yaml", 0, "spec.resources.limits.cpu", "1")
    assert edit.new_text == SECTIONS.replace("      memory: 1Gi\n", "      memory: 1Gi\n      cpu: '1'\n")
