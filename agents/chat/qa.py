"""The QA agent: answers from cluster facts through the read-only tools, and cites the calls it used.

Without a model it answers the common forms with a structured answer; with one it runs a bounded
tool loop (read-only tools only: the executor refuses anything else and says so to the model).
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, SystemMessage, ToolMessage
from pydantic import BaseModel

from agents.chat.help import ASK_A_PERSON, AskAPerson
from agents.chat.intents import ChatIntent
from agents.context import Context
from agents.investigation import Toolbox
from agents.prompts import render_prompt
from agents.safety.guards import is_last_step, repeated_call
from agents.toolsets.base import ToolResult
from agents.toolsets.executor import ToolExecutor
from agents.toolsets.kubernetes import DESCRIBE_TOOLS

AGENT = "qa"
QA_TOOLS = ("list_pods", "list_workloads", "describe_pod", "describe_deployment", "describe_replicaset",
            "describe_statefulset", "describe_daemonset", "describe_node", "describe_service", "describe_pvc",
            "get_events", "get_logs", "get_resource_yaml", "get_endpoints", "get_resource_usage",
            "get_rollout_history")
MAX_DESCRIBED = 10  # workloads whose images and resources are looked up; the rest are listed only
OFFLINE_FORMS = ('"why is X failing in NS"', '"what runs in NS"', '"write a deployment for IMAGE:TAG"',
                 '"check this manifest" with the YAML')


class Citation(BaseModel):
    call_id: str
    tool: str
    args: dict[str, Any]
    status: str


class QaAnswer(BaseModel):
    form: str
    answer: str
    facts: list[str] = []
    citations: list[Citation] = []
    needs_person: str | None = None  # the model asked for a person instead of answering (AskAPerson), and why

    def text(self) -> str:
        """What the person reads: the answer, then the tool calls it rests on."""
        lines = [self.answer, *(f"- {fact}" for fact in self.facts)]
        if self.citations:
            lines.append("Sources: " + "; ".join(f"[{c.call_id}] {c.tool}({_args(c.args)}) {c.status}"
                                                 for c in self.citations))
        return "\n".join(lines)


def qa_executor(toolbox: Toolbox, context: Context) -> ToolExecutor:
    return ToolExecutor(toolbox.registry, context, agent=AGENT, allowed=QA_TOOLS, audit=toolbox.audit,
                        clients=toolbox.clients)


async def answer_offline(executor: ToolExecutor, intent: ChatIntent) -> QaAnswer:
    if intent.form == "what_runs" and intent.namespace:
        return await what_runs(executor, intent.namespace)
    return QaAnswer(form="question", answer=(
        "Without a model configured I answer these forms: " + ", ".join(OFFLINE_FORMS) +
        ". Nothing was run for this question, and a chat turn never changes the cluster."))


async def what_runs(executor: ToolExecutor, namespace: str) -> QaAnswer:
    workloads = await executor.call("list_workloads", {"namespace": namespace})
    if not workloads.ok:
        return QaAnswer(form="what_runs", answer=f"Could not list namespace {namespace}: {workloads.message}",
                        citations=[cite(workloads)])
    pods = await executor.call("list_pods", {"namespace": namespace})
    facts = [f"{w['kind']} {w['name']}: {w.get('ready') or '?'} ready"
             + ("" if w.get("healthy", True) else f", unhealthy: {w.get('problem') or 'see its pods'}")
             for w in workloads.data or []]
    calls = [workloads, pods]
    for workload in (workloads.data or [])[:MAX_DESCRIBED]:
        tool = DESCRIBE_TOOLS.get(workload["kind"])
        if tool is None:
            continue
        described = await executor.call(tool, {"namespace": namespace, "name": workload["name"]})
        calls.append(described)
        facts += [f"{workload['kind']} {workload['name']} container {c.get('name')}: image {c.get('image')}, "
                  f"{_resources(c.get('resources') or {})}" for c in (described.data or {}).get("containers") or []]
    failing = [p for p in (pods.data or []) if p.get("status") not in ("Running", "Succeeded", "Completed")]
    facts += [f"pod {p['name']} is {p.get('status')} ({p.get('restarts', 0)} restarts)" for p in failing]
    if failing:
        warnings = await executor.call("get_events", {"namespace": namespace, "type": "Warning", "limit": 5})
        calls.append(warnings)
        facts += [f"warning {e.get('reason')} on {e['object']['kind']}/{e['object']['name']} (x{e.get('count', 1)}): "
                  f"{str(e.get('message'))[:160]}" for e in warnings.data or []]
    count = len(workloads.data or [])
    summary = (f"Namespace {namespace} runs {count} workload(s) and {len(pods.data or [])} pod(s)"
               + (f"; {len(failing)} pod(s) are not running." if failing else "; every pod is running.")
               if count or pods.data else f"Nothing runs in namespace {namespace}.")
    return QaAnswer(form="what_runs", answer=summary, facts=facts, citations=[cite(c) for c in calls])


def _resources(resources: dict[str, Any]) -> str:
    parts = [f"{kind} " + ", ".join(f"{k} {v}" for k, v in (resources.get(kind) or {}).items())
             for kind in ("requests", "limits") if resources.get(kind)]
    return "; ".join(parts) or "no requests or limits"


async def answer_with_model(toolbox: Toolbox, executor: ToolExecutor, context: Context,
                            history: list[AnyMessage]) -> tuple[list[AnyMessage], QaAnswer]:
    """A bounded tool loop over the conversation; returns the messages it added and the answer."""
    assert toolbox.model is not None
    tools = toolbox.registry.langchain_tools(QA_TOOLS, context=context)
    added: list[AnyMessage] = []
    system = SystemMessage(render_prompt("qa"))
    steps = 0
    while True:
        offered = [] if is_last_step(steps, context.budgets) else tools
        # Asking a person is always offered: it is how the model says it is stuck instead of guessing.
        model = toolbox.model.bind_tools([*offered, AskAPerson])
        reply = await model.ainvoke([system, *history, *added])
        assert isinstance(reply, AIMessage)
        added.append(reply)
        steps += 1
        if asked := next((c for c in reply.tool_calls if c["name"] == ASK_A_PERSON), None):
            # Every call of this message gets its answer, so the thread's history stays valid for the model.
            added += [ToolMessage("handed to a person" if c is asked else "not run: the question went to a person",
                                  tool_call_id=c["id"] or "") for c in reply.tool_calls]
            reason = str(asked["args"].get("reason") or "the agent could not answer this")[:500]
            return added, QaAnswer(form="question", answer=f"This needs a person: {reason}",
                                   citations=[cite(c) for c in executor.calls], needs_person=reason)
        if not reply.tool_calls or not offered:
            break
        for call in reply.tool_calls:
            if repeated_call(executor.calls, call["name"], call["args"], context.budgets):
                added.append(ToolMessage(f"refused: {call['name']} was already called with these arguments; "
                                         "answer from what you have.", tool_call_id=call["id"] or ""))
                continue
            result = await executor.call(call["name"], call["args"], call_id=call["id"])
            added.append(result.as_tool_message())
    answer = QaAnswer(form="question", answer=str(added[-1].content),
                      citations=[cite(c) for c in executor.calls])
    return added, answer


def cite(result: ToolResult) -> Citation:
    return Citation(call_id=result.call_id, tool=result.tool, args=result.args, status=result.status.value)


def _args(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in args.items())
