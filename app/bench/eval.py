"""`opsgraph bench eval`: the whole scoreboard, in full (CI runs a small part of it). Prints figures.

The public suite K times (pass@1 and pass^K, diagnosis, escalation and fix-by-outcome scores) and N
variants of a seed (the generalisation suite), with the pass rate per transform, so a weak spot (an
owner kind, an alert, a repository layout) shows by name. Every row goes to a log file; the figures go
to standard output.
"""

from __future__ import annotations

import asyncio
import collections
import json
import tempfile
from pathlib import Path
from typing import Any

from app.eval.report import run_eval
from app.settings import Settings
from sim.scenario import scenario_dir


def _by_transform(rows: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, list[bool]] = collections.defaultdict(list)
    for row in rows:
        for transform in (row.get("details") or {}).get("transforms") or []:
            seen[transform.split("=")[0] if transform.startswith(("alert=",)) else transform].append(bool(row["ok"]))
    return [f"  {name:<28} {sum(oks)}/{len(oks)}" for name, oks in sorted(seen.items())]


async def _bench(settings: Settings, repeat: int, variants: int, seed: int, log: Path) -> str:
    folder = scenario_dir()
    with tempfile.TemporaryDirectory(prefix="opsgraph-bench-eval-") as tmp:
        public_json, variants_json = Path(tmp) / "public.json", Path(tmp) / "variants.json"
        with log.open("w") as out:
            await run_eval(settings, folder, repeat=repeat, json_path=public_json, out=out)
            await run_eval(settings, folder, repeat=1, json_path=variants_json, out=out, variants=variants, seed=seed)
        public, generated = json.loads(public_json.read_text()), json.loads(variants_json.read_text())
    lines = [f"public suite, {public['scenarios']} scenarios x {repeat}:",
             f"  pass@1 {public['passed']}/{public['rows_judged']}; pass^{repeat} {public['pass_all_k']}/{public['scenarios']}",
             f"  diagnosis {public['diagnoses_right']}/{public['rows_judged']}; escalation "
             f"{public['escalations_right']}/{public['rows_judged']}; fix by outcome {public['fixes_healthy']}/"
             f"{public['fixes_checked']}",
             f"  alert to diagnosis p50 {public['p50_seconds']:.2f} s, p95 {public['p95_seconds']:.2f} s",
             f"generalisation suite, {variants} variants of seed {seed}:",
             f"  {generated['passed']}/{generated['rows_judged']} passed; fix by outcome {generated['fixes_healthy']}/"
             f"{generated['fixes_checked']}",
             "  by transform (passed/variants with it):", *_by_transform(generated["rows"]),
             f"every row: {log}"]
    return "\n".join(lines) + "\n"


def run_eval_bench(settings: Settings, *, repeat: int, variants: int, seed: int, log: Path) -> int:
    print(asyncio.run(_bench(settings, repeat, variants, seed, log)), end="")
    return 0
