"""A not-found answer lists the names that exist (Facts.listed), and a step can read each of them (for_each)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from agents.rules import refs
from agents.rules.engine import _step_args
from agents.rules.facts import Facts, absorb
from agents.skills.loader import FOR_EACH_LIMIT, Step
from tests.agents.rules.builders import event, facts, pod, status


def _error(kind: str, name: str, message: str, namespace: str | None = "shop") -> SimpleNamespace:
    args = {"kind": kind, "name": name, **({"namespace": namespace} if namespace else {})}
    return SimpleNamespace(call_id="rules-2", tool="get_resource_yaml", args=args, status="error", text="",
                           data=None, message=message)


@pytest.mark.parametrize(("result", "key", "names"), [
    (_error("ConfigMap", "app-config", "configmap 'app-config' not found in namespace 'shop' (configmaps there: "
                                       "app-configuration, kube-root-ca.crt); use a name that exists."),
     ("ConfigMap", "shop"), ["app-configuration", "kube-root-ca.crt"]),
    (_error("StorageClass", "fast-ssd", "storageclass 'fast-ssd' not found (storageclasses: premium, standard); "
                                        "use a name that exists.", namespace=None),
     ("StorageClass", None), ["premium", "standard"]),
], ids=["namespaced", "cluster-scoped"])
def test_a_not_found_answer_lists_what_exists(result: SimpleNamespace, key: tuple[str, str | None], names: list[str]) -> None:
    seen = Facts()
    absorb(seen, result)
    assert seen.listed[key] == (names, "rules-2")
    assert (result.args["kind"], result.args.get("namespace"), result.args["name"]) in seen.missing
    assert seen.names(key[0], "shop") == names


def test_a_not_found_answer_without_a_list_lists_nothing() -> None:
    seen = Facts()
    absorb(seen, _error("Secret", "x", "get_resource_yaml failed: cluster API unreachable"))
    assert seen.listed == {}


@pytest.mark.parametrize(("seen", "expected"), [
    (facts(pod(statuses=[status(waiting={"reason": "CreateContainerConfigError", "message": 'secret "db" not found'})])),
     ("Secret", "db")),
    (facts(pod(), event("FailedToRetrieveImagePullSecret", "Unable to retrieve some image pull secrets (regcred); x")),
     ("Secret", "regcred")),
    (facts(event("ProvisioningFailed", 'storageclass.storage.k8s.io "fast-ssd" not found', kind="PersistentVolumeClaim",
                 name="data")), ("StorageClass", "fast-ssd")),
    (facts(pod(statuses=[status(ready=True)])), None),
], ids=["secret", "pull-secret", "storageclass", "nothing-missing"])
def test_the_missing_object_a_pod_or_claim_references(seen: Facts, expected: tuple[str, str] | None) -> None:
    assert refs.missing_object(seen) == expected


def test_closest_names_first_without_the_missing_one_or_implicit_objects() -> None:
    assert refs.closest("app-config", ["kube-root-ca.crt", "nginx", "app-configuration", "app-config"]) == \
        ["app-configuration", "nginx"]
    assert refs.closest("app-config", ["nginx"], cutoff=0.5) == []


def test_a_for_each_step_calls_once_per_listed_name_up_to_the_limit() -> None:
    step = Step(id="each", tool="get_resource_yaml", for_each="existing",
                args={"kind": "{missing_kind}", "namespace": "{namespace}", "name": "{item}"})
    assert step.needs() == {"missing_kind", "namespace", "existing"}
    names = [f"s{i}" for i in range(FOR_EACH_LIMIT + 2)]
    calls = _step_args(step, {"missing_kind": "Secret", "namespace": "shop", "existing": ",".join(names)})
    assert [c["name"] for c in calls] == names[:FOR_EACH_LIMIT]
    assert calls[0] == {"kind": "Secret", "namespace": "shop", "name": "s0"}
    assert _step_args(step, {"missing_kind": "Secret", "namespace": "shop"}) == []
