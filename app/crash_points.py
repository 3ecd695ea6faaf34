"""Test-only: a worker that kills itself (SIGKILL, no clean-up at all) at one named step boundary, so the
kill tests can prove that a graph resumes from its checkpoint at every boundary and repeats no side effect.

Set by OPSGRAPH_TEST_CRASH_AT; unset (always, outside those tests) nothing here runs. Boundaries:
- `before:<node>`: a graph node (of the supervisor or a subgraph) is about to start; with checkpoints
  written synchronously, every node before it is checkpointed;
- `after_commit`, `after_push`, `after_pull_request`: inside the delivery of an approved change
  (agents/remediation.deliver), between committing, pushing and opening the pull request.
"""

from __future__ import annotations

import logging
import os
import signal
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

log = logging.getLogger(__name__)

DELIVERY_BOUNDARIES = ("after_commit", "after_push", "after_pull_request")


class CrashPoint:
    """SIGKILLs this process when `reach(name)` names the configured boundary."""

    def __init__(self, boundary: str) -> None:
        self.boundary = boundary

    def reach(self, name: str) -> None:
        if name == self.boundary:
            log.warning("test crash point %s reached: SIGKILL", name, extra={"pid": os.getpid()})
            for handler in logging.getLogger().handlers:
                handler.flush()
            os.kill(os.getpid(), signal.SIGKILL)


class CrashBeforeNode(BaseCallbackHandler):
    """LangChain callback: a graph node's run is named after the node (LangGraph sets `langgraph_node`)."""

    run_inline = True  # in the event loop, before the node's first line, not later in a thread pool

    def __init__(self, crash: CrashPoint) -> None:
        self.crash = crash

    def on_chain_start(self, serialized: dict[str, Any] | None, inputs: Any, *, run_id: UUID,
                       parent_run_id: UUID | None = None, tags: list[str] | None = None,
                       metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        node = (metadata or {}).get("langgraph_node")
        if node is not None and kwargs.get("name") == node:
            self.crash.reach(f"before:{node}")
