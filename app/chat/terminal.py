"""`opsgraph chat`: a terminal client over the chat API, through `langgraph_sdk` like any other client.
It streams the answer's tokens and the agents' steps, and answers an approval interrupt in place."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TextIO

from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient

from app.chat.service import ASSISTANT_ID

STREAM_MODES = ["messages-tuple", "updates", "custom", "values"]
Ask = Callable[[str], str]


class TerminalChat:
    def __init__(self, client: SyncLangGraphClient, out: TextIO, ask: Ask, approver: str) -> None:
        self.client = client
        self.out = out
        self.ask = ask
        self.approver = approver

    def open(self, thread_id: str | None) -> str:
        if thread_id:
            return str(self.client.threads.get(thread_id)["thread_id"])
        return str(self.client.threads.create()["thread_id"])

    def send(self, thread_id: str, text: str) -> dict[str, Any] | None:
        """One turn; while the thread stops at an approval, ask the person and resume with the answer."""
        values = self._stream(thread_id, input={"messages": [{"role": "user", "content": text}]})
        while values and values.get("__interrupt__"):
            decision = self._decide(values["__interrupt__"][0]["value"])
            if decision is None:
                self._say(f"(left waiting; resume later with `opsgraph chat --thread {thread_id}`)")
                return values
            values = self._stream(thread_id, command={"resume": decision})
        return values

    def _stream(self, thread_id: str, **payload: Any) -> dict[str, Any] | None:
        values: dict[str, Any] | None = None
        streamed: dict[str, str] = {}
        for part in self.client.runs.stream(thread_id, ASSISTANT_ID, stream_mode=STREAM_MODES, **payload):
            if part.event == "messages":
                chunk, _meta = part.data
                if chunk.get("type") == "AIMessageChunk" and chunk.get("content"):
                    if chunk["id"] not in streamed:
                        self.out.write("\n")
                    streamed[chunk["id"]] = streamed.get(chunk["id"], "") + chunk["content"]
                    self.out.write(chunk["content"])
                    self.out.flush()
            elif part.event == "custom":
                self._say(f"  · {part.data.get('step')}: {part.data.get('message')}")
            elif part.event == "updates":
                for node in part.data:
                    if node != "__interrupt__":
                        self._say(f"  [{node}]")
            elif part.event == "values":
                values = part.data
            elif part.event == "error":
                self._say(f"error: {part.data.get('message')}")
        last = (values or {}).get("messages", [])[-1:] if values else []
        if last and last[0].get("type") == "ai" and last[0].get("content") and \
                streamed.get(last[0].get("id") or "") != last[0]["content"]:
            self._say("\n" + str(last[0]["content"]))  # an offline answer, or one with its sources added
        return values

    def _decide(self, request: dict[str, Any]) -> dict[str, Any] | None:
        if request.get("kind") == "help":  # a person on call answers, in Slack or over the help API
            self._say(f"\nAsked a person ({request['request_id']}): {request.get('reason')}. Their answer "
                      "becomes this thread's next message.")
            return None
        if request.get("kind") != "approval":
            self._say(json.dumps(request, indent=2, default=str))
            return None
        self._say(f"\nApproval needed for change {request['diff_hash'][:12]} (risk {request.get('risk')}): "
                  f"{request.get('root_cause')}")
        if request.get("diff"):
            self._say(str(request["diff"]))
        answer = self.ask("approve, reject or leave it? [a/r/l] ").strip().lower()
        if answer in ("a", "approve"):
            return {"decision": "approve", "approver": self.approver, "diff_hash": request["diff_hash"]}
        if answer in ("r", "reject"):
            return {"decision": "reject", "approver": self.approver, "diff_hash": request["diff_hash"],
                    "reason": "rejected in opsgraph chat"}
        return None

    def _say(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()


def run_terminal_chat(url: str, token: str, *, thread_id: str | None, message: str | None, approver: str,
                      out: TextIO, ask: Ask) -> int:
    chat = TerminalChat(get_sync_client(url=url, headers={"Authorization": f"Bearer {token}"}), out, ask, approver)
    thread = chat.open(thread_id)
    chat._say(f"thread {thread}")
    if message is not None:
        chat.send(thread, message)
        return 0
    while True:
        try:
            text = ask("\nyou> ")
        except EOFError:
            return 0
        if text.strip() in ("/quit", "/exit"):
            return 0
        if text.strip():
            chat.send(thread, text)
