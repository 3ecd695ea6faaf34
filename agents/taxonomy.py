"""The agents' vocabulary: the fault categories a diagnosis names, and the confidence tiers it is judged by.

One category is one *kind of root cause*, chosen so that two faults share a category exactly when an
SRE would investigate and fix them the same way. The categories cover the 30 scenarios of the fault
catalogue (`docs`/design `fault-catalogue.md` §2); the README maps each scenario to its category.
Adding a category is a deliberate change: skills, the rule engine and the benchmark key on these names.
`sim/` keeps a scenario's expected category as plain text; a conformance test checks it is one of these.
"""

from __future__ import annotations

CATEGORIES: dict[str, str] = {
    "healthy": "Nothing is wrong; no alert should lead to a fix.",
    "oom_killed": "A container is killed for using more memory than its limit (OOMKilled, exit 137).",
    "crash_loop_app_error": "The application starts and exits on its own (bad release, code defect, "
    "unreachable dependency it cannot live without).",
    "bad_command": "The container's command or args name something the image does not have "
    "(StartError exit 128, or the shell's exit 127).",
    "missing_config": "A required env var, ConfigMap, Secret or key is missing or misnamed.",
    "invalid_config": "Configuration exists but its content is malformed or wrong.",
    "image_pull": "The image cannot be pulled: unknown tag or repository, missing pull credentials.",
    "unschedulable": "The scheduler finds no node: resources, nodeSelector/affinity, taints.",
    "service_unreachable": "Traffic does not reach healthy pods: Service selector or targetPort, missing "
    "Service, Ingress class, NetworkPolicy, DNS.",
    "storage": "Volumes: PVC cannot bind (StorageClass, provisioner), volume full.",
    "node_failure": "A node itself is broken (NotReady, pressure); no workload is at fault.",
    "probe_failure": "A liveness/readiness/startup probe checks the wrong port or path.",
    "autoscaling": "An HPA cannot compute or is pinned at its limits (missing requests, missing target, "
    "unrealistic targets).",
    "rbac": "A ServiceAccount lacks a permission the application needs.",
    "security_context": "The pod's securityContext conflicts with the image (runAsNonRoot, user, "
    "capabilities).",
    "certificate": "A TLS certificate is missing, expired or cannot be issued.",
    "quota": "A ResourceQuota or LimitRange rejects pods.",
    "admission": "An admission webhook or policy rejects or cannot evaluate pods.",
    "job_failed": "A Job exhausted its backoffLimit (or deadline) without completing.",
}


# Confidence tiers, named once. A rule diagnosis at or above CONFIDENT is only explained by the model, not
# re-investigated; below NEEDS_HUMAN_BELOW a diagnosis always goes to a person (and the evaluator does not
# count it as a diagnosis that names a cause).
CONFIDENT = 0.85
NEEDS_HUMAN_BELOW = 0.6
