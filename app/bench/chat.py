"""`opsgraph bench chat`: what a chat turn costs through the whole service path.

The service runs in this process on loopback (lifespan, one worker, a scratch database on the configured
Postgres or an embedded one) against a simulated cluster; the official `langgraph_sdk` client streams
each turn. Two kinds of turn:
- offline ("what runs in default", no model): time to the final values;
- scripted model (a routed question answered in `--tokens` tokens): time to the first token, to the
  final values, and tokens per second as the client receives them. Each token is one event row in
  Postgres and one NOTIFY, so this is also what event persistence costs.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from functools import partial

from langgraph_sdk import get_client
from pydantic import SecretStr

from testing.scripted_model import ScriptedChatModel, ScriptedTurn
from app.bench.intake import _as_url, scratch_database
from app.inprocess import serving
from app.runner import build_incident_runner
from app.settings import Settings
from sim.runtime import start_sim
from sim.scenario import find_scenario

TOKEN = "bench-chat-token"


@dataclass
class Turns:
    first_token: list[float] = field(default_factory=list)
    final: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)

    def line(self, name: str) -> str:
        parts = [f"{name}: {len(self.final)} turns, final values p50 {_ms(statistics.median(self.final))}, "
                 f"p95 {_ms(_p95(self.final))}"]
        if self.first_token:
            rate = sum(self.tokens) / sum(f - t for f, t in zip(self.final, self.first_token, strict=True))
            parts.append(f"first token p50 {_ms(statistics.median(self.first_token))}, "
                         f"p95 {_ms(_p95(self.first_token))}; {rate:.0f} tokens/s streamed")
        return "; ".join(parts)


async def _turns(settings: Settings, turns: int, tokens: int, with_model: bool) -> Turns:
    answer = " ".join(f"word{n}" for n in range(tokens))
    model = (ScriptedChatModel([t for _ in range(turns) for t in (
        ScriptedTurn(structured={"route": "qa", "form": "question", "reason": "bench"}), answer)])
        if with_model else None)
    result = Turns()
    async with serving(settings, runner_factory=partial(build_incident_runner, model=model)) as url:
        client = get_client(url=url, headers={"Authorization": f"Bearer {TOKEN}"})
        for _ in range(turns):
            thread = await client.threads.create()
            text = "tell me about default" if with_model else "what runs in default?"
            started, first, count = time.perf_counter(), None, 0
            async for part in client.runs.stream(thread["thread_id"], "supervisor", stream_mode=["messages-tuple", "values"],
                                                 input={"messages": [{"role": "user", "content": text}]}):
                if part.event == "messages" and part.data[0].get("content"):
                    first = first or time.perf_counter() - started
                    count += 1
            result.final.append(time.perf_counter() - started)
            if first is not None and with_model:  # offline answers arrive whole, not as tokens
                result.first_token.append(first)
                result.tokens.append(count)
    return result


def run_chat_bench(settings: Settings, *, turns: int, tokens: int) -> int:
    print(f"opsgraph bench chat: {turns} turns each, answers of {tokens} tokens, one worker, scenario oom_memory_hog")
    sim = start_sim(find_scenario("oom_memory_hog"))
    try:
        with scratch_database(settings) as conninfo:
            configured = settings.model_copy(update={
                "database_url": SecretStr(_as_url(conninfo)), "api_token": SecretStr(TOKEN), "workers": 1,
                "kubeconfig": sim.kubeconfig_path, "worker_poll_seconds": 1.0})
            print(asyncio.run(_turns(configured, turns, tokens, with_model=False)).line("offline"))
            print(asyncio.run(_turns(configured, turns, tokens, with_model=True)).line("scripted model"))
    finally:
        sim.stop()
    return 0


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"
