"""Server-side printing: meta.k8s.io/v1 Tables with the columns `kubectl get` shows.

The printers follow kubernetes/pkg/printers/internalversion/printers.go, in particular the pod
STATUS column, which is derived from container states (CrashLoopBackOff, OOMKilled,
Init:CrashLoopBackOff, ...) rather than read from the phase. Columns with priority 1 are the extra
ones `-o wide` shows. Kinds without a printer get the apiserver's default NAME and CREATED AT.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

Obj = dict[str, Any]
Column = tuple[str, str, int]  # name, type, priority
Printer = tuple[list[Column], Callable[[Obj, datetime], list[Any]]]


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def since(value: str | None, now: datetime) -> str:
    moment = parse_time(value)
    return "<unknown>" if moment is None else human_duration((now - moment).total_seconds())


def _age(obj: Obj, now: datetime) -> str:
    return since(obj.get("metadata", {}).get("creationTimestamp"), now)


def _name(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


# -- pods ------------------------------------------------------------------------------------------
def pod_status(pod: Obj) -> tuple[str, int, int, int, str | None]:
    """(STATUS, ready, total containers, restarts, last restart time) as kubectl's printPod computes."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    sidecars = {n for n, c in init_specs.items() if c.get("restartPolicy") == "Always"}
    total = len(spec.get("containers") or []) + len(sidecars)
    ready = restarts = sidecar_restarts = 0
    last_restart: str | None = None
    last_sidecar_restart: str | None = None
    reason = status.get("reason") or status.get("phase") or ""
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        restarts += int(cs.get("restartCount") or 0)
        finished = ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
        if finished and (last_restart is None or finished > last_restart):
            last_restart = finished
        if cs.get("name") in sidecars:
            sidecar_restarts += int(cs.get("restartCount") or 0)
            if finished and (last_sidecar_restart is None or finished > last_sidecar_restart):
                last_sidecar_restart = finished
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and int(terminated.get("exitCode") or 0) == 0:
            continue
        if cs.get("name") in sidecars and cs.get("started"):
            ready += 1 if cs.get("ready") else 0
            continue
        if terminated is not None:
            if terminated.get("reason"):
                reason = "Init:" + terminated["reason"]
            elif terminated.get("signal"):
                reason = f"Init:Signal:{terminated['signal']}"
            else:
                reason = f"Init:ExitCode:{terminated.get('exitCode', 0)}"
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    initialized = any(
        c.get("type") == "Initialized" and c.get("status") == "True" for c in status.get("conditions") or []
    )
    if not initializing or initialized:
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            finished = ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
            if finished and (last_restart is None or finished > last_restart):
                last_restart = finished
            state = cs.get("state") or {}
            terminated, waiting = state.get("terminated"), state.get("waiting")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated is not None:
                signal = terminated.get("signal")
                reason = f"Signal:{signal}" if signal else f"ExitCode:{terminated.get('exitCode', 0)}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            ready_cond = any(c.get("type") == "Ready" and c.get("status") == "True"
                             for c in status.get("conditions") or [])
            reason = "Running" if ready_cond else "NotReady"

    deleting = (pod.get("metadata") or {}).get("deletionTimestamp")
    if deleting and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and status.get("phase") not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return reason, ready, total, restarts, (last_restart if restarts else None)


def _pod_row(pod: Obj, now: datetime) -> list[Any]:
    reason, ready, total, restarts, last_restart = pod_status(pod)
    restarts_text = f"{restarts} ({since(last_restart, now)} ago)" if restarts and last_restart else str(restarts)
    status = pod.get("status") or {}
    ips = status.get("podIPs") or ([{"ip": status["podIP"]}] if status.get("podIP") else [])
    gates = (pod.get("spec") or {}).get("readinessGates") or []
    return [
        _name(pod), f"{ready}/{total}", reason, restarts_text, _age(pod, now),
        ips[0]["ip"] if ips else "<none>",
        (pod.get("spec") or {}).get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        f"{len(gates)}/{len(gates)}" if gates else "<none>",
    ]


# -- workloads -------------------------------------------------------------------------------------
def _containers(obj: Obj) -> tuple[str, str]:
    template = (obj.get("spec") or {}).get("template") or (
        ((obj.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
    containers = (template.get("spec") or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)


def _selector(obj: Obj) -> str:
    sel = (obj.get("spec") or {}).get("selector") or {}
    parts = [f"{k}={v}" for k, v in (sel.get("matchLabels") or {}).items()]
    for expr in sel.get("matchExpressions") or []:
        op = expr.get("operator", "").lower()
        values = ",".join(expr.get("values") or [])
        parts.append(f"{expr.get('key')} {op} ({values})" if values else
                     (expr.get("key", "") if op == "exists" else f"!{expr.get('key', '')}"))
    return ",".join(parts) or "<none>"


def _deployment_row(d: Obj, now: datetime) -> list[Any]:
    spec, st = d.get("spec") or {}, d.get("status") or {}
    names, images = _containers(d)
    return [_name(d), f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 1)}", st.get("updatedReplicas", 0),
            st.get("availableReplicas", 0), _age(d, now), names, images, _selector(d)]


def _replicaset_row(rs: Obj, now: datetime) -> list[Any]:
    spec, st = rs.get("spec") or {}, rs.get("status") or {}
    names, images = _containers(rs)
    return [_name(rs), spec.get("replicas", 1), st.get("replicas", 0), st.get("readyReplicas", 0),
            _age(rs, now), names, images, _selector(rs)]


def _statefulset_row(s: Obj, now: datetime) -> list[Any]:
    names, images = _containers(s)
    ready = (s.get("status") or {}).get("readyReplicas", 0)
    return [_name(s), f"{ready}/{(s.get('spec') or {}).get('replicas', 1)}", _age(s, now), names, images]


def _daemonset_row(d: Obj, now: datetime) -> list[Any]:
    st = d.get("status") or {}
    node_selector = ((d.get("spec") or {}).get("template") or {}).get("spec", {}).get("nodeSelector") or {}
    names, images = _containers(d)
    return [_name(d), st.get("desiredNumberScheduled", 0), st.get("currentNumberScheduled", 0),
            st.get("numberReady", 0), st.get("updatedNumberScheduled", 0), st.get("numberAvailable", 0),
            ",".join(f"{k}={v}" for k, v in node_selector.items()) or "<none>", _age(d, now),
            names, images, _selector(d)]


def _job_row(j: Obj, now: datetime) -> list[Any]:
    spec, st = j.get("spec") or {}, j.get("status") or {}
    conditions = {c.get("type"): c.get("status") for c in st.get("conditions") or []}
    state = next((t for t in ("Complete", "Failed", "FailureTarget", "SuccessCriteriaMet")
                  if conditions.get(t) == "True"), "Suspended" if spec.get("suspend") else "Running")
    start, done = parse_time(st.get("startTime")), parse_time(st.get("completionTime"))
    duration = human_duration(((done or now) - start).total_seconds()) if start else ""
    names, images = _containers(j)
    return [_name(j), state, f"{st.get('succeeded', 0)}/{spec.get('completions', 1)}", duration, _age(j, now),
            names, images, _selector(j)]


def _cronjob_row(c: Obj, now: datetime) -> list[Any]:
    spec, st = c.get("spec") or {}, c.get("status") or {}
    last = st.get("lastScheduleTime")
    names, images = _containers(c)
    return [_name(c), spec.get("schedule", ""), spec.get("timeZone") or "<none>",
            "True" if spec.get("suspend") else "False", len(st.get("active") or []),
            since(last, now) if last else "<none>", _age(c, now), names, images, "<none>"]


# -- the rest --------------------------------------------------------------------------------------
def _event_row(e: Obj, now: datetime) -> list[Any]:
    obj = e.get("involvedObject") or {}
    series = e.get("series") or {}
    last = series.get("lastObservedTime") or e.get("lastTimestamp") or e.get("eventTime")
    first = e.get("firstTimestamp") or e.get("eventTime")
    source = e.get("source") or {}
    source_text = ", ".join(p for p in (source.get("component") or e.get("reportingComponent"),
                                        source.get("host")) if p)
    return [since(last, now), e.get("type", ""), e.get("reason", ""),
            f"{str(obj.get('kind', '')).lower()}/{obj.get('name', '')}", obj.get("fieldPath", ""),
            source_text, e.get("message", "").strip(), since(first, now),
            series.get("count") or e.get("count") or 1, _name(e)]


def _node_row(n: Obj, now: datetime) -> list[Any]:
    conditions = {c.get("type"): c.get("status") for c in (n.get("status") or {}).get("conditions") or []}
    ready = {"True": "Ready", "False": "NotReady"}.get(conditions.get("Ready", ""), "Unknown")
    status = ready + (",SchedulingDisabled" if (n.get("spec") or {}).get("unschedulable") else "")
    labels = n.get("metadata", {}).get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    info = (n.get("status") or {}).get("nodeInfo") or {}
    addresses = {a.get("type"): a.get("address") for a in (n.get("status") or {}).get("addresses") or []}
    return [_name(n), status, ",".join(roles) or "<none>", _age(n, now), info.get("kubeletVersion", ""),
            addresses.get("InternalIP", "<none>"), addresses.get("ExternalIP", "<none>"),
            info.get("osImage", "<unknown>"), info.get("kernelVersion", "<unknown>"),
            info.get("containerRuntimeVersion", "<unknown>")]


def _service_row(s: Obj, now: datetime) -> list[Any]:
    spec = s.get("spec") or {}
    ports = ",".join(
        f"{p.get('port')}{':' + str(p['nodePort']) if p.get('nodePort') else ''}/{p.get('protocol', 'TCP')}"
        for p in spec.get("ports") or []) or "<none>"
    kind = spec.get("type", "ClusterIP")
    ingress = ((s.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = ",".join(i.get("ip") or i.get("hostname", "") for i in ingress) or (
        "<pending>" if kind == "LoadBalancer" else spec.get("externalName") or "<none>")
    selector = ",".join(f"{k}={v}" for k, v in (spec.get("selector") or {}).items()) or "<none>"
    return [_name(s), kind, spec.get("clusterIP") or "<none>", external, ports, _age(s, now), selector]


_MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}


def _pvc_row(p: Obj, now: datetime) -> list[Any]:
    spec, st = p.get("spec") or {}, p.get("status") or {}
    modes = ",".join(_MODES.get(m, m) for m in st.get("accessModes") or [])
    return [_name(p), st.get("phase", ""), spec.get("volumeName", ""), (st.get("capacity") or {}).get("storage", ""),
            modes, spec.get("storageClassName") or "<unset>", spec.get("volumeAttributesClassName") or "<unset>",
            _age(p, now), spec.get("volumeMode", "Filesystem")]


def _pv_row(p: Obj, now: datetime) -> list[Any]:
    spec, st = p.get("spec") or {}, p.get("status") or {}
    ref = spec.get("claimRef") or {}
    return [_name(p), (spec.get("capacity") or {}).get("storage", ""),
            ",".join(_MODES.get(m, m) for m in spec.get("accessModes") or []),
            spec.get("persistentVolumeReclaimPolicy", ""), st.get("phase", ""),
            f"{ref.get('namespace')}/{ref.get('name')}" if ref else "", spec.get("storageClassName", ""),
            spec.get("volumeAttributesClassName") or "<unset>", st.get("reason", ""), _age(p, now),
            spec.get("volumeMode", "Filesystem")]


def _namespace_row(n: Obj, now: datetime) -> list[Any]:
    return [_name(n), (n.get("status") or {}).get("phase", "Active"), _age(n, now)]


def _configmap_row(c: Obj, now: datetime) -> list[Any]:
    return [_name(c), len(c.get("data") or {}) + len(c.get("binaryData") or {}), _age(c, now)]


def _secret_row(s: Obj, now: datetime) -> list[Any]:
    return [_name(s), s.get("type", "Opaque"), len(s.get("data") or {}), _age(s, now)]


def _cond(o: Obj, type_: str, field: str = "status") -> str:
    return next((str(c.get(field) or "") for c in (o.get("status") or {}).get("conditions") or []
                 if c.get("type") == type_), "")


def _certificate_row(c: Obj, now: datetime) -> list[Any]:  # cert-manager's additionalPrinterColumns
    spec = c.get("spec") or {}
    return [_name(c), _cond(c, "Ready"), spec.get("secretName", ""), (spec.get("issuerRef") or {}).get("name", ""),
            _cond(c, "Ready", "message"), _age(c, now)]


def _certificaterequest_row(c: Obj, now: datetime) -> list[Any]:
    spec = c.get("spec") or {}
    return [_name(c), _cond(c, "Approved"), _cond(c, "Denied"), _cond(c, "Ready"),
            (spec.get("issuerRef") or {}).get("name", ""), spec.get("username", ""), _cond(c, "Ready", "message"),
            _age(c, now)]


def _issuer_row(i: Obj, now: datetime) -> list[Any]:
    return [_name(i), _cond(i, "Ready"), _cond(i, "Ready", "message"), _age(i, now)]


def format_label_selector(selector: Obj | None) -> str:
    """metav1.FormatLabelSelector: `k=v,k2 in (a,b)`, `<none>` for the empty selector (which selects all)."""
    selector = selector or {}
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, key = str(expr.get("operator", "")), expr.get("key", "")
        values = ",".join(sorted(expr.get("values") or []))
        parts.append({"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
                      "Exists": key, "DoesNotExist": f"!{key}"}.get(op, key))
    return ",".join(sorted(parts)) or "<none>"


def _more(items: list[str], count: int, limit: int = 3, empty: str = "<none>") -> str:
    """printers.go's `a,b,c + N more...` lists."""
    if count > limit:
        return f"{','.join(items[:limit])} + {count - limit} more..."
    return ",".join(items) or empty


def _endpoints_row(e: Obj, now: datetime) -> list[Any]:  # formatEndpoints
    subsets = e.get("subsets") or []
    items = []
    for ss in subsets:
        addresses = [a.get("ip", "") for a in ss.get("addresses") or []]
        if not ss.get("ports"):
            items += addresses
        for port in ss.get("ports") or []:
            items += [f"{ip}:{port.get('port')}" for ip in addresses]
    return [_name(e), _more(items, len(items)) if subsets else "<none>", _age(e, now)]


def _endpointslice_row(e: Obj, now: datetime) -> list[Any]:  # formatDiscoveryPorts / formatDiscoveryEndpoints
    ports = [str(p["port"]) if p.get("port") is not None else str(p.get("name") or "*") for p in e.get("ports") or []]
    addresses = [a for ep in e.get("endpoints") or [] for a in ep.get("addresses") or []]
    return [_name(e), e.get("addressType", ""), _more(ports, len(ports), empty="<unset>"),
            _more(addresses, len(addresses), empty="<unset>"), _age(e, now)]


def _storageclass_row(c: Obj, now: datetime) -> list[Any]:
    annotations = (c.get("metadata") or {}).get("annotations") or {}
    default = any(annotations.get(k) == "true" for k in ("storageclass.kubernetes.io/is-default-class",
                                                          "storageclass.beta.kubernetes.io/is-default-class"))
    return [_name(c) + (" (default)" if default else ""), c.get("provisioner", ""), c.get("reclaimPolicy") or "Delete",
            c.get("volumeBindingMode") or "Immediate", bool(c.get("allowVolumeExpansion")), _age(c, now)]


def _networkpolicy_row(p: Obj, now: datetime) -> list[Any]:
    return [_name(p), format_label_selector((p.get("spec") or {}).get("podSelector")), _age(p, now)]


def _pdb_row(p: Obj, now: datetime) -> list[Any]:
    spec = p.get("spec") or {}
    return [_name(p), str(spec["minAvailable"]) if spec.get("minAvailable") is not None else "N/A",
            str(spec["maxUnavailable"]) if spec.get("maxUnavailable") is not None else "N/A",
            int((p.get("status") or {}).get("disruptionsAllowed") or 0), _age(p, now)]


def _hpa_targets(h: Obj) -> str:  # formatHPAMetrics, Resource metrics (the others print as <unknown type>)
    specs = (h.get("spec") or {}).get("metrics") or []
    if not specs:
        return "<none>"
    statuses = (h.get("status") or {}).get("currentMetrics") or []
    out = []
    for i, spec in enumerate(specs):
        resource = spec.get("resource") if spec.get("type") == "Resource" else None
        if not resource:
            out.append("<unknown type>")
            continue
        target, current = resource.get("target") or {}, ((statuses[i] if i < len(statuses) else {}).get("resource")
                                                          or {}).get("current") or {}
        if target.get("averageValue") is not None:
            out.append(f"{resource.get('name')}: {current.get('averageValue', '<unknown>')}/{target['averageValue']}")
        else:
            now_pct = f"{current['averageUtilization']}%" if current.get("averageUtilization") is not None else "<unknown>"
            want = f"{target['averageUtilization']}%" if target.get("averageUtilization") is not None else "<auto>"
            out.append(f"{resource.get('name')}: {now_pct}/{want}")
    return ", ".join(out[:2]) + (f" + {len(out) - 2} more..." if len(out) > 2 else "")


def _hpa_row(h: Obj, now: datetime) -> list[Any]:
    spec = h.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    return [_name(h), f"{ref.get('kind', '')}/{ref.get('name', '')}", _hpa_targets(h),
            str(spec["minReplicas"]) if spec.get("minReplicas") is not None else "<unset>",
            int(spec.get("maxReplicas") or 0), int((h.get("status") or {}).get("currentReplicas") or 0), _age(h, now)]


def _ingress_row(i: Obj, now: datetime) -> list[Any]:
    spec = i.get("spec") or {}
    rules = spec.get("rules") or []
    hosts = [r["host"] for r in rules[:3] if r.get("host")]
    lb = ((i.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [_name(i), spec.get("ingressClassName") or "<none>",
            (",".join(hosts) + (f" + {len(rules) - 3} more..." if len(rules) > 3 else "")) if hosts else "*",
            ",".join(a.get("ip") or a.get("hostname", "") for a in lb), "80, 443" if spec.get("tls") else "80",
            _age(i, now)]


def _ingressclass_row(c: Obj, now: datetime) -> list[Any]:
    params = (c.get("spec") or {}).get("parameters")
    shown = "<none>"
    if params:
        shown = params.get("kind", "") + (f".{params['apiGroup']}" if params.get("apiGroup") else "") + \
            f"/{params.get('name', '')}"
    return [_name(c), (c.get("spec") or {}).get("controller", ""), shown, _age(c, now)]


def _webhooks_row(w: Obj, now: datetime) -> list[Any]:
    return [_name(w), len(w.get("webhooks") or []), _age(w, now)]


def _serviceaccount_row(s: Obj, now: datetime) -> list[Any]:
    return [_name(s), len(s.get("secrets") or []), _age(s, now)]


def _quota_row(q: Obj, now: datetime) -> list[Any]:  # printResourceQuota: requests and limits columns
    st = q.get("status") or {}
    hard, used = st.get("hard") or (q.get("spec") or {}).get("hard") or {}, st.get("used") or {}
    request, limit = [], []
    for resource in sorted(hard):
        (limit if resource.startswith("limits.") else request).append(f"{resource}: {used.get(resource, '0')}/{hard[resource]}")
    return [_name(q), _age(q, now), ", ".join(request), ", ".join(limit)]


def _binding_row(b: Obj, now: datetime) -> list[Any]:
    ref = b.get("roleRef") or {}
    subjects = b.get("subjects") or []

    def of(kind: str) -> str:
        return ", ".join((f"{s.get('namespace', '')}/{s.get('name', '')}" if kind == "ServiceAccount" else s.get("name", ""))
                         for s in subjects if s.get("kind") == kind)
    return [_name(b), f"{ref.get('kind', '')}/{ref.get('name', '')}", _age(b, now), of("User"), of("Group"),
            of("ServiceAccount")]


def _controllerrevision_row(r: Obj, now: datetime) -> list[Any]:
    owner = next((o for o in (r.get("metadata") or {}).get("ownerReferences") or [] if o.get("controller")), None)
    shown = "<none>"
    if owner:
        group = str(owner.get("apiVersion", "")).rpartition("/")[0]
        shown = f"{str(owner.get('kind', '')).lower()}{'.' + group if group else ''}/{owner.get('name', '')}"
    return [_name(r), shown, int(r.get("revision") or 0), _age(r, now)]


def _priorityclass_row(p: Obj, now: datetime) -> list[Any]:
    return [_name(p), int(p.get("value") or 0), bool(p.get("globalDefault")), _age(p, now), p.get("preemptionPolicy", "")]


def _lease_row(lease: Obj, now: datetime) -> list[Any]:
    return [_name(lease), (lease.get("spec") or {}).get("holderIdentity", ""), _age(lease, now)]


def _runtimeclass_row(r: Obj, now: datetime) -> list[Any]:
    return [_name(r), r.get("handler", ""), _age(r, now)]


def _generic_row(o: Obj, now: datetime) -> list[Any]:
    """The apiserver's default table convertor (kinds printers.go has no handler for: Roles, LimitRanges)."""
    return [_name(o), (o.get("metadata") or {}).get("creationTimestamp") or ""]


def _cols(spec: str) -> list[Column]:
    """'Name,Ready,+IP' -> columns; a leading + marks a wide-only (priority 1) column."""
    return [(c.lstrip("+"), "string", 1 if c.startswith("+") else 0) for c in spec.split(",")]


_WORKLOAD_WIDE = "+Containers,+Images,+Selector"
PRINTERS: dict[str, Printer] = {
    "Pod": (_cols("Name,Ready,Status,Restarts,Age,+IP,+Node,+Nominated Node,+Readiness Gates"), _pod_row),
    "Deployment": (_cols(f"Name,Ready,Up-to-date,Available,Age,{_WORKLOAD_WIDE}"), _deployment_row),
    "ReplicaSet": (_cols(f"Name,Desired,Current,Ready,Age,{_WORKLOAD_WIDE}"), _replicaset_row),
    "StatefulSet": (_cols("Name,Ready,Age,+Containers,+Images"), _statefulset_row),
    "DaemonSet": (_cols(f"Name,Desired,Current,Ready,Up-to-date,Available,Node Selector,Age,{_WORKLOAD_WIDE}"),
                  _daemonset_row),
    "Job": (_cols(f"Name,Status,Completions,Duration,Age,{_WORKLOAD_WIDE}"), _job_row),
    "CronJob": (_cols(f"Name,Schedule,Timezone,Suspend,Active,Last Schedule,Age,{_WORKLOAD_WIDE}"), _cronjob_row),
    "Event": (_cols("Last Seen,Type,Reason,Object,+Subobject,+Source,Message,+First Seen,+Count,+Name"),
              _event_row),
    "Node": (_cols("Name,Status,Roles,Age,Version,+Internal-IP,+External-IP,+OS-Image,+Kernel-Version,"
                   "+Container-Runtime"), _node_row),
    "Service": (_cols("Name,Type,Cluster-IP,External-IP,Port(s),Age,+Selector"), _service_row),
    "PersistentVolumeClaim": (_cols("Name,Status,Volume,Capacity,Access Modes,StorageClass,"
                                    "VolumeAttributesClass,Age,+VolumeMode"), _pvc_row),
    "PersistentVolume": (_cols("Name,Capacity,Access Modes,Reclaim Policy,Status,Claim,StorageClass,"
                               "VolumeAttributesClass,Reason,Age,+VolumeMode"), _pv_row),
    "Namespace": (_cols("Name,Status,Age"), _namespace_row),
    "ConfigMap": (_cols("Name,Data,Age"), _configmap_row),
    "Secret": (_cols("Name,Type,Data,Age"), _secret_row),
    "Certificate": (_cols("Name,Ready,Secret,+Issuer,+Status,Age"), _certificate_row),
    "CertificateRequest": (_cols("Name,Approved,Denied,Ready,Issuer,Requester,+Status,Age"),
                           _certificaterequest_row),
    "Endpoints": (_cols("Name,Endpoints,Age"), _endpoints_row),
    "EndpointSlice": (_cols("Name,AddressType,Ports,Endpoints,Age"), _endpointslice_row),
    "StorageClass": (_cols("Name,Provisioner,ReclaimPolicy,VolumeBindingMode,AllowVolumeExpansion,Age"),
                     _storageclass_row),
    "NetworkPolicy": (_cols("Name,Pod-Selector,Age"), _networkpolicy_row),
    "PodDisruptionBudget": (_cols("Name,Min Available,Max Unavailable,Allowed Disruptions,Age"), _pdb_row),
    "HorizontalPodAutoscaler": (_cols("Name,Reference,Targets,MinPods,MaxPods,Replicas,Age"), _hpa_row),
    "Ingress": (_cols("Name,Class,Hosts,Address,Ports,Age"), _ingress_row),
    "IngressClass": (_cols("Name,Controller,Parameters,Age"), _ingressclass_row),
    "ValidatingWebhookConfiguration": (_cols("Name,Webhooks,Age"), _webhooks_row),
    "MutatingWebhookConfiguration": (_cols("Name,Webhooks,Age"), _webhooks_row),
    "ServiceAccount": (_cols("Name,Secrets,Age"), _serviceaccount_row),
    "ResourceQuota": (_cols("Name,Age,Request,Limit"), _quota_row),
    "RoleBinding": (_cols("Name,Role,Age,+Users,+Groups,+ServiceAccounts"), _binding_row),
    "ClusterRoleBinding": (_cols("Name,Role,Age,+Users,+Groups,+ServiceAccounts"), _binding_row),
    "ControllerRevision": (_cols("Name,Controller,Revision,Age"), _controllerrevision_row),
    "PriorityClass": (_cols("Name,Value,Global-Default,Age,PreemptionPolicy"), _priorityclass_row),
    "Lease": (_cols("Name,Holder,Age"), _lease_row),
    "RuntimeClass": (_cols("Name,Handler,Age"), _runtimeclass_row),
    "Issuer": (_cols("Name,Ready,+Status,Age"), _issuer_row),
    "ClusterIssuer": (_cols("Name,Ready,+Status,Age"), _issuer_row),
}
_GENERIC: Printer = (_cols("Name,Created At"), _generic_row)


def _partial(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def build_table(kind: str, items: list[tuple[Obj, Obj]], now: datetime, resource_version: str,
                include_object: str = "Metadata") -> Obj:
    """A Table over (stored object, wire object) pairs: cells come from the stored (core) shape, the
    row's object from the shape the request's resource serves (events.k8s.io, redacted Secrets)."""
    columns, row = PRINTERS.get(kind, _GENERIC)
    rows = []
    for stored, obj in items:
        entry: Obj = {"cells": row(stored, now)}
        if include_object == "Object":
            entry["object"] = obj
        elif include_object != "None":
            entry["object"] = _partial(obj)
        rows.append(entry)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [
            {"name": name, "type": type_, "format": "name" if name == "Name" else "",
             "description": name, "priority": priority}
            for name, type_, priority in columns
        ],
        "rows": rows,
    }
