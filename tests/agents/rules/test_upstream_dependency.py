"""The dependency a healthy caller's requests fail against, read from the caller's own log lines."""

from __future__ import annotations

import pytest

from agents.rules.targets import upstream
from tests.agents.rules.builders import facts, log


@pytest.mark.parametrize(("line", "expected"), [
    ('level=error error="Get \\"http://cart-api.retail.svc.cluster.local/api/cart\\": dial tcp 10.96.7.218:80: '
     'connect: connection refused"', {"upstream_service": "cart-api", "upstream_namespace": "retail"}),
    ('Post "http://ledger:8080/v1/entries": dial tcp: lookup ledger on 10.96.0.10:53: no such host',
     {"upstream_service": "ledger", "upstream_namespace": "shop"}),
    ("curl: (6) Could not resolve host: data-service.reporting.svc.cluster.local",
     {"upstream_service": "data-service", "upstream_namespace": "reporting"}),
    ("Failed to connect to inventory.stock port 9000: Connection refused",
     {"upstream_service": "inventory", "upstream_namespace": "stock"}),
    ('Get "https://api.stripe.com/v1/charges": dial tcp 1.2.3.4:443: i/o timeout', {}),  # outside the cluster
    ('Get "http://web.shop.svc/healthz": dial tcp 10.0.0.1:80: connect: connection refused', {}),  # itself
    ("GET /api/cart 200 12ms", {}),
])
def test_the_dependency_is_read_from_the_callers_log(line: str, expected: dict[str, str]) -> None:
    seen = facts(logs=[log(line, previous=False)])
    assert upstream(seen, {"namespace": "shop", "pod": "web-7f9c-abcde", "service": "web"}) == expected
