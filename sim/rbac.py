"""RBAC authorization over the Roles, ClusterRoles and bindings in the store, as the apiserver's RBAC
authorizer decides (plugin/pkg/auth/authorizer/rbac): a request is allowed when some binding that
applies to its namespace names the user, one of its groups or its ServiceAccount, and the bound role
has a rule matching the verb, API group, resource (`pods/log` for a subresource) and name.

The kubeconfig's own user is the cluster's admin (group `system:masters`, like kind's or kubeadm's
admin.conf); other identities come from impersonation (`kubectl --as`, `--as-group`) or a pod's
ServiceAccount. Denials are worded as the apiserver's Forbidden errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sim import errors
from sim.errors import ApiError

Obj = dict[str, Any]
ADMIN_USER = "kubernetes-admin"
SUPERUSER_GROUP = "system:masters"


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()

    @classmethod
    def service_account(cls, namespace: str, name: str) -> User:
        return cls(f"system:serviceaccount:{namespace}:{name}",
                   ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"))

    @classmethod
    def impersonated(cls, name: str, groups: list[str]) -> User:
        parts = name.split(":")
        if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"] and not groups:
            return cls.service_account(parts[2], parts[3])
        return cls(name, (*groups, "system:authenticated"))


ADMIN = User(ADMIN_USER, (SUPERUSER_GROUP, "system:authenticated"))


@dataclass(frozen=True)
class Request:
    verb: str
    resource: str
    group: str = ""
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None


@dataclass
class Decision:
    allowed: bool
    reason: str = ""
    denied_by: list[str] = field(default_factory=list)


def _matches(values: list[str] | None, wanted: str) -> bool:
    return any(v in ("*", wanted) for v in values or [])


def _rule_allows(rule: Obj, req: Request) -> bool:
    resource = f"{req.resource}/{req.subresource}" if req.subresource else req.resource
    names = rule.get("resourceNames") or []
    return (_matches(rule.get("verbs"), req.verb) and _matches(rule.get("apiGroups"), req.group)
            and _matches(rule.get("resources"), resource)
            and (not names or (req.name is not None and req.name in names)))


def _subject_matches(subject: Obj, user: User, binding_namespace: str | None) -> bool:
    kind = subject.get("kind")
    if kind == "User":
        return subject.get("name") == user.name
    if kind == "Group":
        return subject.get("name") in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return user.name == f"system:serviceaccount:{namespace}:{subject.get('name')}"
    return False


def _describe_subject(subject: Obj, binding_namespace: str | None) -> str:
    if subject.get("kind") == "ServiceAccount":
        return f'ServiceAccount "{subject.get("name")}/{subject.get("namespace") or binding_namespace}"'
    return f'{subject.get("kind")} "{subject.get("name")}"'


def authorize(store: Any, user: User, req: Request) -> Decision:
    """The RBAC authorizer's answer for `user` doing `req`, with the apiserver's allow reason."""
    if SUPERUSER_GROUP in user.groups:
        return Decision(True)
    bindings = [(b, None) for b in store.list("ClusterRoleBinding")]
    if req.namespace:
        bindings += [(b, req.namespace) for b in store.list("RoleBinding", req.namespace)]
    for binding, namespace in bindings:
        subject = next((s for s in binding.get("subjects") or [] if _subject_matches(s, user, namespace)), None)
        if subject is None:
            continue
        ref = binding.get("roleRef") or {}
        role = store.get("ClusterRole", None, ref.get("name", "")) if ref.get("kind") == "ClusterRole" else \
            store.get("Role", namespace, ref.get("name", ""))
        if role is None or not any(_rule_allows(rule, req) for rule in role.get("rules") or []):
            continue
        where = f'RoleBinding "{binding["metadata"]["name"]}/{namespace}"' if namespace else \
            f'ClusterRoleBinding "{binding["metadata"]["name"]}"'
        role_name = f'{ref.get("kind")} "{ref.get("name")}"' if ref.get("kind") == "ClusterRole" else \
            f'Role "{ref.get("name")}/{namespace}"'
        return Decision(True, f"RBAC: allowed by {where} of {role_name} to {_describe_subject(subject, namespace)}")
    return Decision(False)


def forbidden_message(user: User, req: Request) -> str:
    """k8s.io/apiserver's forbidden wording (endpoints/handlers/responsewriters.forbiddenMessage)."""
    resource = f"{req.resource}/{req.subresource}" if req.subresource else req.resource
    label = errors.resource_label(req.resource, req.group)
    subject = f'{label} "{req.name}"' if req.name else label
    where = f'in the namespace "{req.namespace}"' if req.namespace else "at the cluster scope"
    return (f'{subject} is forbidden: User "{user.name}" cannot {req.verb} resource "{resource}" '
            f'in API group "{req.group}" {where}')


def check(store: Any, user: User, req: Request) -> None:
    """Raise the apiserver's 403 when `user` may not do `req`."""
    if not authorize(store, user, req).allowed:
        details: Obj = {"kind": req.resource, **({"name": req.name} if req.name else {}),
                        **({"group": req.group} if req.group else {})}
        raise ApiError(403, forbidden_message(user, req), "Forbidden", details)


def access_review(store: Any, user: User, body: Any, self_review: bool) -> Obj:
    """The answered (Self)SubjectAccessReview: spec echoed, status {allowed, reason}."""
    kind = "SelfSubjectAccessReview" if self_review else "SubjectAccessReview"
    if not isinstance(body, dict) or not isinstance(body.get("spec"), dict):
        raise errors.bad_request(f"the body of the request was in an unknown format: a {kind} needs a spec")
    spec = body["spec"]
    attrs = spec.get("resourceAttributes")
    if not self_review:
        if not spec.get("user") and not spec.get("groups"):
            raise errors.invalid(kind, "authorization.k8s.io", "", "spec.user",
                                 "Invalid value: \"\": at least one of user or group must be specified",
                                 "FieldValueInvalid")
        user = User.impersonated(str(spec.get("user") or ""), [str(g) for g in spec.get("groups") or []])
    status: Obj
    if isinstance(attrs, dict):
        decision = authorize(store, user, Request(
            verb=str(attrs.get("verb") or ""), resource=str(attrs.get("resource") or ""),
            group=str(attrs.get("group") or ""), namespace=attrs.get("namespace") or None,
            name=attrs.get("name") or None, subresource=attrs.get("subresource") or None))
        status = {"allowed": decision.allowed, **({"reason": decision.reason} if decision.reason else {})}
    elif isinstance(spec.get("nonResourceAttributes"), dict):
        status = {"allowed": SUPERUSER_GROUP in user.groups}
    else:
        raise errors.invalid(kind, "authorization.k8s.io", "", "spec.resourceAttributes",
                             "Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes "
                             "must be specified", "FieldValueInvalid")
    return {"kind": kind, "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None}, "spec": spec, "status": status}
