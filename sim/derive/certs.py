"""cert-manager, as far as a Certificate's life goes: issuers, CertificateRequests, the TLS Secret.

Issuers and ClusterIssuers become Ready (an ACME account registers, a CA issuer finds its key pair).
A Certificate whose Secret is missing gets a CertificateRequest `<name>-<revision + 1>`, approved by
cert-manager; the request is issued when its issuer exists and is Ready (the Secret is written and the
Certificate turns Ready), and otherwise stays Pending with cert-manager's words:
`Referenced "ClusterIssuer" not found: clusterissuer.cert-manager.io "letsencrypt-prod" not found`
(IssuerNotFound, a Normal event from each issuer-type controller). A changed issuerRef replaces the
stale request. Event times are frozen at first sight so reconcile() stays idempotent.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta

from sim.derive.context import Cluster, Obj, fmt, parse_time
from sim.derive.names import digest, stable_json, suffix

GROUP = "cert-manager.io"
ISSUER_TYPES = ("acme", "ca", "selfsigned", "vault", "venafi")
DEFAULT_DURATION = 2160 * 3600.0
APPROVED = "Certificate request has been approved by cert-manager.io"
ISSUED = "Certificate fetched from issuer successfully"
UP_TO_DATE = "Certificate is up to date and has not expired"
MISSING_SECRET = "Issuing certificate as Secret does not exist"


def go_seconds(text: object) -> float | None:
    """Seconds in a Go duration ("2160h", "1h30m0s", "720h0m0s"), or None."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|m|s)", str(text or ""))
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts) or None


def _pem(kind: str, seed: str) -> str:
    body = base64.b64encode(digest(seed).encode() * 3).decode()
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n"


def _cond(type_: str, status: str, reason: str, message: str, at: datetime, generation: int = 1) -> Obj:
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": fmt(at), "observedGeneration": generation}


def _first_seen(cluster: Cluster, key: str) -> datetime:
    return cluster.memory.observed.setdefault(key, cluster.action_time)


# -- issuers --------------------------------------------------------------------------------------


def _issuer_state(cluster: Cluster, issuer: Obj) -> tuple[str, str, str]:
    spec = issuer.get("spec") or {}
    if "acme" in spec:
        return "True", "ACMEAccountRegistered", "The ACME account was registered with the ACME server"
    if "ca" in spec:
        namespace = issuer["metadata"].get("namespace") or "cert-manager"  # ClusterIssuers: the cluster resource namespace
        secret = (spec["ca"] or {}).get("secretName", "")
        if cluster.get("Secret", namespace, secret) is None:
            return "False", "ErrGetKeyPair", f'Error getting keypair for CA issuer: secret "{secret}" not found'
        return "True", "KeyPairVerified", "Signing CA verified"
    if "vault" in spec:
        return "True", "VaultVerified", "Vault verified"
    return "True", "IsReady", ""


def issuer_type(issuer: Obj) -> str:
    spec = issuer.get("spec") or {}
    return next((t for t in ("acme", "ca", "vault", "venafi") if t in spec), "selfsigned")


def derive_issuers(cluster: Cluster) -> None:
    for kind in ("Issuer", "ClusterIssuer"):
        for issuer in cluster.list(kind):
            status, reason, message = _issuer_state(cluster, issuer)
            created = parse_time(issuer["metadata"].get("creationTimestamp")) or cluster.now
            out: Obj = {"conditions": [_cond("Ready", status, reason, message, created + timedelta(seconds=2),
                                             issuer["metadata"].get("generation", 1))]}
            acme = (issuer.get("spec") or {}).get("acme")
            if acme is not None:
                out["acme"] = {"uri": f"{acme.get('server', '').rsplit('/directory', 1)[0]}/acct/"
                                      f"{int(digest(issuer['metadata']['name'], 8), 16)}",
                               "lastRegisteredEmail": acme.get("email", "")}
            issuer["status"] = out
            cluster.save(issuer)


def _issuer(cluster: Cluster, namespace: str, ref: Obj) -> tuple[Obj | None, str]:
    kind = ref.get("kind") or "Issuer"
    name = ref.get("name", "")
    if kind == "ClusterIssuer":
        found = cluster.get("ClusterIssuer", None, name)
    else:
        found = cluster.get("Issuer", namespace, name)
    return found, f'Referenced "{kind}" not found: {kind.lower()}.{GROUP} "{name}" not found'


# -- certificates ---------------------------------------------------------------------------------


def _request_spec(cert: Obj) -> Obj:
    spec = cert.get("spec") or {}
    ref = {"name": (spec.get("issuerRef") or {}).get("name", ""),
           "kind": (spec.get("issuerRef") or {}).get("kind") or "Issuer",
           "group": (spec.get("issuerRef") or {}).get("group") or GROUP}
    subject = {k: spec.get(k) for k in ("commonName", "dnsNames", "ipAddresses", "uris") if spec.get(k)}
    csr = _pem("CERTIFICATE REQUEST", stable_json(subject))
    return {"duration": spec.get("duration") or "2160h0m0s", "issuerRef": ref,
            "request": base64.b64encode(csr.encode()).decode(),
            "usages": spec.get("usages") or ["digital signature", "key encipherment"],
            "username": "system:serviceaccount:cert-manager:cert-manager",
            "groups": ["system:serviceaccounts", "system:serviceaccounts:cert-manager", "system:authenticated"]}


def _owner(obj: Obj, kind: str) -> list[Obj]:
    return [{"apiVersion": f"{GROUP}/v1", "kind": kind, "name": obj["metadata"]["name"],
             "uid": obj["metadata"].get("uid"), "controller": True, "blockOwnerDeletion": True}]


def _issued_by(secret: Obj | None, cert: Obj) -> bool:
    annotations = ((secret or {}).get("metadata") or {}).get("annotations") or {}
    ref = (cert.get("spec") or {}).get("issuerRef") or {}
    return (annotations.get("cert-manager.io/certificate-name") == cert["metadata"]["name"]
            and annotations.get("cert-manager.io/issuer-name") == ref.get("name")
            and annotations.get("cert-manager.io/issuer-kind") == (ref.get("kind") or "Issuer"))


def derive_certificates(cluster: Cluster) -> None:
    derive_issuers(cluster)
    for cert in cluster.list("Certificate"):
        _certificate(cluster, cert)


def _certificate(cluster: Cluster, cert: Obj) -> None:
    meta, spec = cert["metadata"], cert.get("spec") or {}
    namespace = meta.get("namespace") or "default"
    secret_name = spec.get("secretName") or meta["name"]
    generation = meta.get("generation", 1)
    previous = cert.get("status") or {}
    if _issued_by(cluster.get("Secret", namespace, secret_name), cert):
        _ready(cluster, cert, secret_name, previous)
        return
    revision = int(previous.get("revision") or 0)
    cr_name = f"{meta['name']}-{revision + 1}"
    want = _request_spec(cert)
    key_secret = f"{secret_name}-{suffix(namespace + '/' + meta['name'] + stable_json(want), 5)}"
    request = cluster.get("CertificateRequest", namespace, cr_name)
    if request is not None and request.get("spec") != want:  # the Certificate changed: a fresh request
        cluster.delete("CertificateRequest", namespace, cr_name)
        request = None
    since = _first_seen(cluster, f"cert/{meta.get('uid')}/{digest(stable_json(want), 12)}")
    for reason, message, component, offset in (
        ("Issuing", MISSING_SECRET, "cert-manager-certificates-trigger", 0),
        ("Generated", f'Stored new private key in temporary Secret resource "{key_secret}"',
         "cert-manager-certificates-key-manager", 1),
        ("Requested", f'Created new CertificateRequest resource "{cr_name}"',
         "cert-manager-certificates-request-manager", 1),
    ):
        at = since + timedelta(seconds=offset)
        cluster.event(cert, reason, message, component=component, count=1, first=at, last=at)
    if request is None:
        request = cluster.create({
            "apiVersion": f"{GROUP}/v1", "kind": "CertificateRequest",
            "metadata": {"name": cr_name, "namespace": namespace, "creationTimestamp": fmt(since + timedelta(seconds=1)),
                         **({"labels": dict(meta["labels"])} if meta.get("labels") else {}),
                         "annotations": {"cert-manager.io/certificate-name": meta["name"],
                                         "cert-manager.io/certificate-revision": str(revision + 1),
                                         "cert-manager.io/private-key-secret-name": key_secret},
                         "ownerReferences": _owner(cert, "Certificate")},
            "spec": want,
        })
    issued_at = _request(cluster, request, since + timedelta(seconds=1))
    if issued_at is not None:
        _write_secret(cluster, cert, secret_name, issued_at, cr_name)
        cluster.event(cert, "Issuing", "The certificate has been successfully issued",
                      component="cert-manager-certificates-issuing", count=1, first=issued_at, last=issued_at)
        _ready(cluster, cert, secret_name, previous)
        return
    cert["status"] = {
        "conditions": [_cond("Ready", "False", "DoesNotExist", MISSING_SECRET, since, generation),
                       _cond("Issuing", "True", "DoesNotExist", MISSING_SECRET, since, generation)],
        "nextPrivateKeySecretName": key_secret,
    }
    cluster.save(cert)


def _request(cluster: Cluster, request: Obj, since: datetime) -> datetime | None:
    """Derive a CertificateRequest's status and events; the issue time when it was issued."""
    meta = request["metadata"]
    namespace = meta.get("namespace") or "default"
    conditions = [_cond("Approved", "True", "cert-manager.io", APPROVED, since)]
    conditions[0].pop("observedGeneration")
    cluster.event(request, "cert-manager.io", APPROVED, component="cert-manager-certificaterequests-approver",
                  count=1, first=since, last=since)
    issuer, not_found = _issuer(cluster, namespace, request["spec"]["issuerRef"])
    issued_at = None
    status: Obj = {}
    if issuer is None:
        for kind in ISSUER_TYPES:  # each issuer-type controller looks the issuer up before filtering
            cluster.event(request, "IssuerNotFound", not_found, component=f"cert-manager-certificaterequests-issuer-{kind}",
                          count=1, first=since, last=since)
        ready = _cond("Ready", "False", "Pending", not_found, since)
    elif not any(c.get("type") == "Ready" and c.get("status") == "True"
                 for c in (issuer.get("status") or {}).get("conditions") or []):
        message = "Referenced issuer does not have a Ready status condition"
        cluster.event(request, "IssuerNotReady", message,
                      component=f"cert-manager-certificaterequests-issuer-{issuer_type(issuer)}",
                      count=1, first=since, last=since)
        ready = _cond("Ready", "False", "Pending", message, since)
    else:
        issued_at = since + timedelta(seconds=4 if issuer_type(issuer) == "acme" else 1)
        cluster.event(request, "CertificateIssued", ISSUED,
                      component=f"cert-manager-certificaterequests-issuer-{issuer_type(issuer)}",
                      count=1, first=issued_at, last=issued_at)
        ready = _cond("Ready", "True", "Issued", ISSUED, issued_at)
        status["certificate"] = base64.b64encode(_pem("CERTIFICATE", meta["name"]).encode()).decode()
    ready.pop("observedGeneration")
    request["status"] = {**status, "conditions": conditions + [ready]}
    cluster.save(request)
    return issued_at


def _write_secret(cluster: Cluster, cert: Obj, name: str, issued_at: datetime, cr_name: str) -> None:
    meta, spec = cert["metadata"], cert.get("spec") or {}
    namespace = meta.get("namespace") or "default"
    ref = spec.get("issuerRef") or {}
    names = spec.get("dnsNames") or []
    secret = {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": fmt(issued_at),
                     "labels": {"controller.cert-manager.io/fao": "true"},
                     "annotations": {"cert-manager.io/alt-names": ",".join(names),
                                     "cert-manager.io/certificate-name": meta["name"],
                                     "cert-manager.io/common-name": spec.get("commonName") or (names[:1] or [""])[0],
                                     "cert-manager.io/ip-sans": "", "cert-manager.io/uri-sans": "",
                                     "cert-manager.io/issuer-group": ref.get("group") or GROUP,
                                     "cert-manager.io/issuer-kind": ref.get("kind") or "Issuer",
                                     "cert-manager.io/issuer-name": ref.get("name", ""),
                                     "sim.opsgraph/issued-at": fmt(issued_at)}},
        "data": {"tls.crt": base64.b64encode(_pem("CERTIFICATE", cr_name).encode()).decode(),
                 "tls.key": base64.b64encode(_pem("PRIVATE KEY", cr_name).encode()).decode(),
                 "ca.crt": ""},
    }
    existing = cluster.get("Secret", namespace, name)
    if existing is None:
        cluster.create(secret)
    else:
        cluster.save({**secret, "metadata": {**existing["metadata"], **secret["metadata"]}})


def _ready(cluster: Cluster, cert: Obj, secret_name: str, previous: Obj) -> None:
    meta, spec = cert["metadata"], cert.get("spec") or {}
    secret = cluster.get("Secret", meta.get("namespace"), secret_name) or {}
    issued = parse_time(((secret.get("metadata") or {}).get("annotations") or {}).get("sim.opsgraph/issued-at"))
    issued = issued or parse_time((secret.get("metadata") or {}).get("creationTimestamp")) or cluster.now
    duration = go_seconds(spec.get("duration")) or DEFAULT_DURATION
    renew_seconds = go_seconds(spec.get("renewBefore")) or duration / 3
    not_after = issued + timedelta(seconds=duration)
    revision = int(previous.get("revision") or 0)
    if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in previous.get("conditions") or []):
        revision += 1
    cert["status"] = {
        "conditions": [_cond("Ready", "True", "Ready", UP_TO_DATE, issued, meta.get("generation", 1))],
        "notBefore": fmt(issued), "notAfter": fmt(not_after),
        "renewalTime": fmt(not_after - timedelta(seconds=renew_seconds)), "revision": revision,
    }
    cluster.save(cert)
