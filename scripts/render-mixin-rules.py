#!/usr/bin/env python3
"""Render the vendored kubernetes-mixin alerting rules to deploy/monitoring/rules/kubernetes-mixin.yaml.

Offline: the `jsonnet` wheel evaluates deploy/monitoring/kubernetes-mixin/opsgraph-alerts.jsonnet (only the
alert files the mixin's alerts need are vendored; see PROVENANCE there). `--check` exits 1 when the committed
file differs from a fresh render (the test suite runs the same comparison).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.monitoring.rules import RENDERED_RULES, render_mixin_rules  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file instead of writing")
    args = parser.parse_args()
    text = render_mixin_rules()
    if args.check:
        current = RENDERED_RULES.read_text() if RENDERED_RULES.exists() else ""
        if current != text:
            print(f"{RENDERED_RULES.relative_to(ROOT)} is stale: run scripts/render-mixin-rules.py", file=sys.stderr)
            return 1
        return 0
    RENDERED_RULES.write_text(text)
    print(f"wrote {RENDERED_RULES.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
