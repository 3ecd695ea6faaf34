"""Checks for Ingresses no controller serves: the IngressClass they name does not exist."""

from __future__ import annotations

from agents.diagnosis import ResourceRef
from agents.rules.facts import Facts
from agents.rules.finding import Clue, Finding, FixDraft
from agents.rules.registry import check


def ingress_class_of(ingress: dict) -> str | None:
    spec, meta = ingress.get("spec") or {}, ingress.get("metadata") or {}
    return spec.get("ingressClassName") or (meta.get("annotations") or {}).get("kubernetes.io/ingress.class")


@check("ingress_class_missing")
def ingress_class_missing(facts: Facts) -> Finding | None:
    """The Ingress names an IngressClass that does not exist, so no controller serves it (no address)."""
    for ingress in facts.all("Ingress", facts.focus.get("namespace")):
        wanted = ingress_class_of(ingress)
        call_id = facts.missing.get(("IngressClass", None, wanted or "")) if wanted else None
        if call_id is None:
            continue
        meta = ingress["metadata"]
        existing = [n for n in facts.names("IngressClass") if n != wanted]
        ref = ResourceRef(kind="Ingress", namespace=meta.get("namespace"), name=meta["name"])
        served = "; the classes that exist: " + ", ".join(existing) if existing else "; no IngressClass exists"
        cause = (f"Ingress {meta['name']} names IngressClass {wanted}, which does not exist{served}. No controller "
                 "serves it, so it has no address and requests to its hosts fail.")
        # One class that exists is the one meant; several are a choice for a person.
        value = existing[0] if len(existing) == 1 else None
        return Finding("service_unreachable", cause, 0.88, ref,
                       (Clue.of(f"ingressClassName: {wanted}", wanted, call_id=facts.source("Ingress", meta.get("namespace"),
                                                                                          meta["name"])),
                        Clue.of("not found", wanted, call_id=call_id)),
                       (FixDraft("spec.ingressClassName", value, "use an IngressClass a controller serves", resource=ref),))
    return None
