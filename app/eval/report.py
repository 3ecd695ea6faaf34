"""Run a scenario folder, print one row per scenario run, and end with `N passed, M failed`."""

from __future__ import annotations

import asyncio
import json
import statistics
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TextIO

from pydantic import SecretStr

from app.db.embedded import EmbeddedPostgres
from app.db.demo_database import database_on_same_server
from app.eval.row import EvalRow
from app.eval.runner import eval_loaded, eval_scenario, invalid_row
from app.eval.variants import generate
from app.settings import Settings

HEADER = (f"{'scenario':<38} {'ok':<4} {'expected':<58} {'got':<58} {'diag':<4} {'esc':<4} {'fix':<4} {'steps':>5} "
          f"{'calls':>5} {'tokens':>7} {'secs':>6}")


@asynccontextmanager
async def shared_database(settings: Settings) -> AsyncIterator[Settings]:
    """The database a demo or eval run uses: `OPSGRAPH_DEMO_DATABASE` on the service's server (created when
    missing), so its incidents stay out of `opsgraph serve`'s. The embedded server is held open here, so each
    scenario's service joins it instead of starting and stopping its own."""
    server = None
    if settings.database_url is not None:
        url = settings.database_url.get_secret_value()
    else:
        server = EmbeddedPostgres(settings.data_dir)
        url = await asyncio.to_thread(server.start)
    try:
        if settings.demo_database:
            url = await database_on_same_server(url, settings.demo_database)
        yield settings.model_copy(update={"database_url": SecretStr(url)})
    finally:
        if server is not None:
            await asyncio.to_thread(server.stop)


def _line(row: EvalRow) -> str:
    mark = "ok" if row.ok else "FAIL"
    line = (f"{row.scenario + (f' #{row.run}' if row.run else ''):<38} {mark:<4} {row.expected[:58]:<58} "
            f"{row.got[:58]:<58} {'ok' if row.diagnosis_ok else 'FAIL':<4} {'ok' if row.escalation_ok else 'FAIL':<4} "
            f"{row.fix:<4} {row.steps:>5} {row.tool_calls:>5} {row.tokens:>7} {row.seconds:>6.2f}")
    if not row.ok:
        line += "".join(f"\n    {reason}" for reason in row.reasons)
    return line + (f"\n    {row.error}" if row.error else "")


async def run_eval(settings: Settings, folder: Path, *, repeat: int, json_path: Path | None, out: TextIO,
                   variants: int = 0, seed: int = 1, min_pass: float = 1.0, alerts: str = "file") -> int:
    paths = sorted(folder.glob("*.yaml"))
    if not paths:
        out.write(f"no scenario files (*.yaml) in {folder}\n")
        return 2
    rows: list[EvalRow] = []
    out.write(HEADER + "\n")
    async with shared_database(settings) as shared:
        if variants:
            valid = [p for p in paths if invalid_row(p) is None]
            for variant in generate(variants, seed, valid):
                for run in range(repeat):
                    try:
                        row = await eval_loaded(variant.scenario, shared, run, label=variant.name, alerts=alerts)
                    except Exception as exc:  # one broken variant is a failed row; the run goes on
                        row = EvalRow(scenario=variant.name, run=run, error=f"{type(exc).__name__}: {exc}")
                    row.details["transforms"] = variant.transforms
                    rows.append(row)
                    out.write(_line(row) + f"\n    variant of {variant.source}: {', '.join(variant.transforms)}\n")
                    out.flush()
        for path in [] if variants else paths:
            invalid = invalid_row(path)
            if invalid is not None:  # reported once, not once per repeat; the run goes on
                rows.append(invalid)
                out.write(_line(invalid) + "\n")
                continue
            for run in range(repeat):
                try:
                    row = await eval_scenario(path, shared, run, alerts=alerts)
                except Exception as exc:  # one broken scenario is a failed row; the run goes on
                    row = EvalRow(scenario=path.stem, run=run, error=f"{type(exc).__name__}: {exc}")
                rows.append(row)
                out.write(_line(row) + "\n")
                out.flush()
    summary = summarise(rows, repeat)
    out.write(summary["text"])
    if json_path is not None:
        json_path.write_text(json.dumps({"rows": [asdict(r) for r in rows], **summary["figures"]}, indent=2,
                                        default=str))
    passed, total = summary["figures"]["passed"], len(rows)
    if min_pass < 1.0:
        out.write(f"pass rate {passed}/{total} ({_pct(passed, total)}); required at least {100 * min_pass:.1f} %\n")
    return 0 if total and passed >= min_pass * total else 1


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def summarise(rows: list[EvalRow], repeat: int) -> dict[str, object]:
    scenarios = sorted({r.scenario for r in rows})
    all_right = [s for s in scenarios if all(r.ok for r in rows if r.scenario == s)]
    times = sorted(r.seconds for r in rows if r.error is None or r.ok)
    p50 = statistics.median(times) if times else 0.0
    p95 = times[max(0, int(round(0.95 * len(times))) - 1)] if times else 0.0
    passed = sum(r.ok for r in rows)
    # pass@1 is the share of rows passing; pass^k the share of scenarios right on every one of k runs.
    fixes = [r for r in rows if r.fix != "-"]
    fixed = sum(r.fix == "ok" for r in fixes)
    diagnosed = sum(r.diagnosis_ok for r in rows)
    escalations = sum(r.escalation_ok for r in rows)
    failed = len(rows) - passed
    figures = {"passed": passed, "failed": failed, "scenarios": len(scenarios), "repeat": repeat,
               "pass_all_k": len(all_right), "p50_seconds": round(p50, 3), "p95_seconds": round(p95, 3),
               "tool_calls": sum(r.tool_calls for r in rows), "tokens": sum(r.tokens for r in rows),
               "fixes_checked": len(fixes), "fixes_healthy": fixed, "diagnoses_right": diagnosed,
               "escalations_right": escalations, "rows_judged": len(rows)}
    text = f"wall time per scenario (alert to diagnosis): p50 {p50:.2f} s, p95 {p95:.2f} s\n"
    text += f"diagnosis: {diagnosed}/{len(rows)} right (category, resource and cause) ({_pct(diagnosed, len(rows))})\n"
    text += (f"escalation: {escalations}/{len(rows)} right (a person when one is needed, a fix when the "
             f"cluster holds the evidence) ({_pct(escalations, len(rows))})\n")
    if fixes:
        text += (f"fix by outcome: {fixed}/{len(fixes)} where a fix is expected (one pull request, the right object, "
                 f"synced, the symptom gone) ({_pct(fixed, len(fixes))})\n")
    if repeat > 1:
        text += f"pass^{repeat}: {len(all_right)}/{len(scenarios)} scenarios right on all {repeat} runs\n"
    text += f"{passed} passed, {failed} failed\n"
    return {"text": text, "figures": figures}
