"""LangGraph stream chunks as the JSON the LangGraph server sends (messages as their dicts, interrupts
as {value, id}); Postgres jsonb refuses NUL characters, so they are dropped."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.types import Interrupt
from pydantic import BaseModel


def to_wire(obj: Any) -> Any:
    if obj is None or isinstance(obj, bool | int | float):
        return obj
    if isinstance(obj, str):
        return obj.replace("\x00", "")
    if isinstance(obj, BaseMessage):
        return to_wire(obj.model_dump())
    if isinstance(obj, Interrupt):
        return {"value": to_wire(obj.value), "id": obj.id}
    if isinstance(obj, BaseModel):
        return to_wire(obj.model_dump(mode="json"))
    if isinstance(obj, dict):
        return {str(k): to_wire(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_wire(v) for v in obj]
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    return to_wire(json.loads(json.dumps(obj, default=str)))
