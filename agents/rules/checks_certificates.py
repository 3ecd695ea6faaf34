"""Checks for TLS certificates (cert-manager `Certificate` objects): not issued, or about to expire."""

from __future__ import annotations

import difflib
import re
from datetime import datetime, timedelta
from typing import Any

from agents.diagnosis import ResourceRef
from agents.rules.facts import Facts
from agents.rules.finding import Clue, Finding, FixDraft
from agents.rules.registry import check

EXPIRY_WARNING = timedelta(days=14)
# cert-manager's IssuerNotFound (on the Certificate's CertificateRequest): the issuerRef names nothing.
_ISSUER_MISSING = re.compile(r'Referenced "(\w+)" not found: \w+\.cert-manager\.io \\?"([^"\\]+)\\?" not found')


def _ref(obj: dict[str, Any]) -> ResourceRef:
    return ResourceRef(kind=obj["kind"], namespace=obj["metadata"].get("namespace"), name=obj["metadata"]["name"])


def _ready(cert: dict[str, Any]) -> dict[str, Any] | None:
    return next((c for c in cert.get("status", {}).get("conditions") or [] if c.get("type") == "Ready"), None)


@check("certificate_not_ready")
def certificate_not_ready(facts: Facts) -> Finding | None:
    """A Certificate is not Ready: its issuer is missing or issuance fails."""
    for cert in facts.all("Certificate", facts.focus.get("namespace")):
        ready = _ready(cert)
        if ready is None or ready.get("status") == "True":
            continue
        issuer = cert.get("spec", {}).get("issuerRef", {})
        message = ready.get("message") or ready.get("reason") or "not ready"
        issuers = [i["metadata"]["name"] for kind in ("ClusterIssuer", "Issuer") for i in facts.all(kind)]
        closest = difflib.get_close_matches(issuer.get("name", ""), issuers, n=1, cutoff=0.5)
        cause = f"Certificate {cert['metadata']['name']} is not issued: {message}"
        fixes = (FixDraft("spec.issuerRef.name", closest[0], f"{closest[0]} is the issuer that exists", resource=_ref(cert)),) \
            if closest and "not found" in message.lower() else ()
        return Finding("certificate", cause, 0.85, _ref(cert),
                       (Clue.of(message, ready.get("reason"), call_id=facts.source("Certificate", cert["metadata"].get("namespace"),
                                                                                     cert["metadata"]["name"])),), fixes)
    return None


@check("certificate_expiring")
def certificate_expiring(facts: Facts) -> Finding | None:
    """A Certificate's notAfter is past or within two weeks and it has not been renewed."""
    if facts.now is None:
        return None
    for cert in facts.all("Certificate", facts.focus.get("namespace")):
        not_after = cert.get("status", {}).get("notAfter")
        try:
            expires = datetime.fromisoformat(str(not_after).replace("Z", "+00:00"))
        except ValueError:
            continue
        if expires - facts.now > EXPIRY_WARNING:
            continue
        state = "expired" if expires <= facts.now else f"expires in {(expires - facts.now).days} days"
        cause = f"Certificate {cert['metadata']['name']} {state} (notAfter {not_after}) and has not been renewed."
        return Finding("certificate", cause, 0.85, _ref(cert),
                       (Clue.of(str(not_after), call_id=facts.source("Certificate", cert["metadata"].get("namespace"),
                                                                   cert["metadata"]["name"])),),
                       escalate="renewal is failing; check the issuer and the ACME challenge")
    return None


@check("tls_secret_missing")
def tls_secret_missing(facts: Facts) -> Finding | None:
    """The TLS Secret the alerted certificate should have issued does not exist: it was never issued."""
    name, namespace = facts.focus.get("certificate"), facts.focus.get("namespace")
    call_id = facts.missing.get(("Secret", namespace, name or ""))
    if not name or call_id is None:
        return None
    ref = ResourceRef(kind="Certificate", namespace=namespace, name=name)
    cause = (f"Certificate {name} has never been issued: its TLS Secret {namespace}/{name} does not exist, so the "
             "ingress serves a default certificate.")
    return Finding("certificate", cause, 0.75, ref, (Clue.of("not found", name, call_id=call_id),),
                   escalate="the Certificate's conditions (issuer, ACME challenge) cannot be read with these tools; "
                            "check its issuerRef")


@check("certificate_issuer_missing")
def certificate_issuer_missing(facts: Facts) -> Finding | None:
    """cert-manager says the alerted Certificate's issuer does not exist (IssuerNotFound on its CertificateRequest)."""
    name, namespace = facts.focus.get("certificate"), facts.focus.get("namespace")
    if not name:
        return None
    for seen in facts.events_for(reasons=("IssuerNotFound",)):
        involved = seen.obj.get("involvedObject", {})
        owner = str(involved.get("name", ""))
        if involved.get("namespace") not in (namespace, None) or not (
                owner == name or re.fullmatch(rf"{re.escape(name)}-\d+", owner)):
            continue
        match = _ISSUER_MISSING.search(seen.obj.get("message") or "")
        if not match:
            continue
        kind, issuer = match.group(1), match.group(2)
        issuers = [i["metadata"]["name"] for i in facts.all(kind)]
        closest = difflib.get_close_matches(issuer, issuers, n=1, cutoff=0.5)
        ref = ResourceRef(kind="Certificate", namespace=namespace, name=name)
        cause = (f"Certificate {name} is never issued: its issuerRef names {kind} {issuer}, which does not exist "
                 f"(cert-manager: {match.group(0)}); its TLS Secret is missing, so the ingress serves a default certificate.")
        fix = FixDraft("spec.issuerRef.name", closest[0] if closest else None,
                       f"{closest[0]} is the {kind} that exists" if closest else
                       f"point issuerRef at the {kind} meant instead of {issuer} (one that exists and is Ready)", resource=ref)
        return Finding("certificate", cause, 0.9, ref, (Clue.of(match.group(0), issuer, call_id=seen.call_id),), (fix,))
    return None
