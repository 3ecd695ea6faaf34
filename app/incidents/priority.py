"""Incident priority P0 (page now) to P3 (look tomorrow), from what the alerts say.

- severity: critical → P1, warning → P2, info (or none) → P3;
- a system namespace raises one level (the whole cluster depends on it), and a critical alert in
  kube-system is P0;
- recurrence: the third incident for the same workload within 24 h raises one level (a fault that
  keeps coming back is worse than its latest alert says).
"""

from __future__ import annotations

SEVERITY_PRIORITY = {"critical": 1, "error": 1, "warning": 2, "info": 3, "none": 3}
SYSTEM_NAMESPACES = frozenset({
    "kube-system", "kube-public", "kube-node-lease", "monitoring", "ingress-nginx", "cert-manager",
    "calico-system", "tigera-operator", "istio-system", "linkerd", "argocd", "flux-system",
})
RECURRENCE_THRESHOLD = 3  # incidents for one workload in the recurrence window, this one included
RECURRENCE_WINDOW_SECONDS = 24 * 3600


def is_system_namespace(namespace: str | None) -> bool:
    # *-system is the convention for cluster add-ons (kube-system, gatekeeper-system, ...).
    return namespace is not None and (namespace in SYSTEM_NAMESPACES or namespace.endswith("-system"))


def priority_for(severity: str | None, namespace: str | None, recent_incidents: int = 0) -> int:
    """The priority number (0 = P0); `recent_incidents` counts earlier ones for the same workload."""
    level = SEVERITY_PRIORITY.get((severity or "").lower(), 3)
    if severity == "critical" and namespace == "kube-system":
        level = 0
    elif is_system_namespace(namespace):
        level -= 1
    if recent_incidents + 1 >= RECURRENCE_THRESHOLD:
        level -= 1
    return max(0, min(3, level))


def label(priority: int) -> str:
    return f"P{priority}"
