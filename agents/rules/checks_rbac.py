"""Checks for RBAC: a workload's own requests to the Kubernetes API are forbidden by its ServiceAccount's roles."""

from __future__ import annotations

import re
from typing import Any

from agents.diagnosis import ResourceRef
from agents.rules import pods
from agents.rules.facts import Facts, LogText
from agents.rules.finding import Clue, Finding, FixDraft
from agents.rules.registry import check

# The apiserver's Forbidden text as a client logs it, quotes possibly escaped:
# pods is forbidden: User "system:serviceaccount:ns:sa" cannot list resource "pods" in API group "" in the namespace "ns"
_Q = r'\\?"'
_FORBIDDEN = re.compile(
    rf"is forbidden: User {_Q}system:serviceaccount:(?P<ns>[a-z0-9.-]+):(?P<sa>[a-z0-9.-]+){_Q} cannot "
    rf"(?P<verb>[a-z]+) resource {_Q}(?P<resource>[a-z0-9./-]+){_Q} in API group {_Q}(?P<group>[a-z0-9.-]*){_Q}")


def _forbidden(facts: Facts) -> tuple[LogText, re.Match[str]] | None:
    for log in facts.logs:
        for line in log.text.splitlines():
            if match := _FORBIDDEN.search(line):
                return log, match
    return None


def _binds(binding: dict[str, Any], namespace: str, account: str) -> bool:
    return any(s.get("kind") == "ServiceAccount" and s.get("name") == account
               and (s.get("namespace") or binding["metadata"].get("namespace")) == namespace
               for s in binding.get("subjects") or [])


def _grant(rules: list[dict[str, Any]], group: str, resource: str, verb: str) -> tuple[str, Any]:
    """The smallest change that grants `verb`: one more verb on the rule for that resource, else one more rule."""
    for i, rule in enumerate(rules):
        if group in (rule.get("apiGroups") or []) and resource in (rule.get("resources") or []) \
                and not rule.get("resourceNames"):
            return f"rules[{i}].verbs", [*(rule.get("verbs") or []), verb]
    return "rules", [*rules, {"apiGroups": [group], "resources": [resource], "verbs": [verb]}]


@check("rbac_forbidden")
def rbac_forbidden(facts: Facts) -> Finding | None:
    """The container's request to the API is forbidden: no Role bound to its ServiceAccount grants the verb."""
    found = _forbidden(facts)
    if found is None:
        return None
    log, match = found
    namespace, account, verb, resource, group = (match["ns"], match["sa"], match["verb"], match["resource"],
                                                 match["group"])
    pod = facts.get("Pod", log.namespace, log.pod)
    subject = pods.ref(pod) if pod else ResourceRef(kind="Pod", namespace=log.namespace, name=log.pod)
    what = f"{verb} on {resource}" + (f" (API group {group})" if group else "")
    bindings = [b for b in facts.all("RoleBinding", namespace) if _binds(b, namespace, account)]
    roles = [role for b in bindings if (b.get("roleRef") or {}).get("kind") == "Role"
             and (role := facts.get("Role", namespace, b["roleRef"].get("name", ""))) is not None]
    clue = Clue.of(f"cannot {verb} resource", "is forbidden", call_id=log.call_id)
    if not roles:
        cause = (f"ServiceAccount {account} may not {what} in {namespace} (no Role bound to it grants it), so the "
                 "container's request is forbidden.")
        return Finding("rbac", cause, 0.7, subject, (clue,),
                       escalate=f"no Role bound to ServiceAccount {account} was seen to extend; a person grants {what}")
    role = roles[0]
    name = role["metadata"]["name"]
    field, value = _grant(list(role.get("rules") or []), group, resource, verb)
    ref = ResourceRef(kind="Role", namespace=namespace, name=name)
    cause = (f"Role {name}, bound to ServiceAccount {account}, does not allow {what}; the container's request is "
             "forbidden and it exits.")
    return Finding("rbac", cause, 0.9, subject,
                   (clue, Clue.of(name, call_id=facts.source("Role", namespace, name))),
                   (FixDraft(field, value, f"grant {what} to ServiceAccount {account}", resource=ref),), related=(ref,))
