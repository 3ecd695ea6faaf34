"""Checks on containers that start and die: OOMKilled, a command the image lacks, an app that exits."""

from __future__ import annotations

import difflib
import re
from typing import Any

from agents.rules import pods
from agents.rules.facts import Facts
from agents.rules.finding import Clue, Finding, FixDraft
from agents.rules.quantity import format_mebibytes, memory_with_headroom, parse_quantity
from agents.rules.registry import check
from agents.rules.workloads import previous_container_field, previous_image

# Flags that state how much memory a process will take: stress, the JVM, Node.js.
_MEMORY_FLAGS = (
    (re.compile(r"^--vm-bytes[= ]?(\S*)$"), "--vm", ""),
    (re.compile(r"^-Xmx(\S+)$"), None, ""),
    (re.compile(r"^--max-old-space-size[= ]?(\d*)$"), None, "Mi"),
)
_LOG_MEMORY = re.compile(r"(?i)(?:alloc\w*|memory|heap|rss|working set|cache|load\w*|buffer\w*)[^\n]{0,40}?(\d+(?:\.\d+)?\s?(?:[KMGT]i?B?|[kmgt]b))\b")
_COMMON_BINARIES = ("sh", "bash", "wget", "curl", "python", "python3", "node", "java", "nginx", "sleep", "cat",
                    "echo", "env", "redis-server", "gunicorn", "uvicorn", "npm", "ruby", "php", "dotnet")
_NOT_FOUND = (
    re.compile(r'exec: \\?"([^"\\]+)\\?": executable file not found'),
    re.compile(r"exec: ([^:\s]+): (?:executable file not found|no such file or directory)"),
    re.compile(r"(?:/bin/)?(?:ba)?sh: (?:\d+: )?([\w./-]+): (?:command )?not found"),
    re.compile(r'exec \\?"?([^":\\]+)\\?"?: no such file or directory'),
)
_ERROR_LINE = re.compile(r"(?i)\b(error|exception|fatal|panic|traceback|failed|refus\w+)\b")


def _memory_from_args(argv: list[str]) -> tuple[float, str] | None:
    """(bytes, the words that say so) from the container's command line, e.g. `--vm-bytes 200M`."""
    for i, word in enumerate(argv):
        for pattern, count_flag, unit in _MEMORY_FLAGS:
            match = pattern.match(word)
            if not match:
                continue
            text = match.group(1) or (argv[i + 1] if i + 1 < len(argv) else "")
            size = parse_quantity(text + unit if text.isdigit() and unit else text.rstrip("bB"))
            if size is None:
                continue
            count = 1
            if count_flag and count_flag in argv[:-1]:
                count = int(argv[argv.index(count_flag) + 1]) if argv[argv.index(count_flag) + 1].isdigit() else 1
            return size * count, text
    return None


def _log_quantity(text: str) -> float | None:
    """`300MiB`, `300 MB`, `1.5gb` as bytes."""
    match = re.match(r"(\d+(?:\.\d+)?)\s?([kmgtKMGT])(i?)", text)
    return parse_quantity(f"{match.group(1)}{match.group(2).upper()}{match.group(3)}") if match else None


def _memory_seen(facts: Facts, pod: dict[str, Any], container: str) -> tuple[float, str, str | None, bool] | None:
    """The most memory the container is seen to use: (bytes, as written, call, measured). Metrics and the command
    line measure the working set; an amount the process's own log names (a cache it loads, an allocation) is
    only a part of it (measured False)."""
    name = pods.name(pod)
    found: list[tuple[float, str, str | None, bool]] = []
    for (kind, _, obj_name), seen in facts.objects.items():
        if kind == "PodMetrics" and obj_name == name:
            for entry in seen.obj.get("containers") or []:
                usage = (entry.get("usage") or {}).get("memory")
                if entry.get("name") == container and parse_quantity(usage):
                    found.append((parse_quantity(usage) or 0.0, str(usage), seen.call_id, True))
    spec = pods.container(pod, container)
    if from_args := _memory_from_args([str(w) for w in (spec.get("command") or []) + (spec.get("args") or [])]):
        found.append((*from_args, facts.source("Pod", pod["metadata"].get("namespace"), name), True))
    if found:
        return max(found, key=lambda item: item[0])
    for log in facts.logs_for(name, container):
        for match in _LOG_MEMORY.finditer(log.text):
            if size := _log_quantity(match.group(1)):
                found.append((size, match.group(1), log.call_id, False))
    return max(found, key=lambda item: item[0]) if found else None


@check("oom_killed")
def oom_killed(facts: Facts) -> Finding | None:
    """A container terminated OOMKilled (or exit 137): compare its limit with what it really uses."""
    for pod in facts.pods():
        for status in pods.statuses(pod):
            oom = next((t for t in pods.terminations(status)
                        if t.get("reason") == "OOMKilled" or (t.get("exitCode") == 137 and not t.get("reason"))), None)
            if oom is None:
                continue
            name = status["name"]
            spec = pods.container(pod, name)
            limit_text = ((spec.get("resources") or {}).get("limits") or {}).get("memory")
            limit = parse_quantity(limit_text)
            source = facts.source("Pod", pod["metadata"].get("namespace"), pods.name(pod))
            seen = _memory_seen(facts, pod, name)
            clue = Clue.of(seen[1], call_id=seen[2]) if seen else None
            escalate = None
            if seen and seen[3] and limit_text:
                cause = f"OOMKilled: container {name} uses ~{seen[1]} against a {limit_text} limit"
                new_limit = memory_with_headroom(max(seen[0], limit or 0))
                why = f"{format_mebibytes(seen[0])} observed plus 25 % headroom, rounded up"
            elif seen and limit:
                # Its own log names an amount it loads: a hint of the size, not a measurement of its working set.
                cause = (f"OOMKilled: container {name} exceeds its {limit_text} memory limit while loading ~{seen[1]} "
                         "(its own log)")
                new_limit = None
                hint = format_mebibytes(limit + seen[0])
                why = (f"the working set was not measured; the process ran inside {limit_text} until it logged loading "
                       f"~{seen[1]}, which suggests a peak near {hint}: a candidate for a person to confirm with metrics")
                escalate = (f"how much memory container {name} needs was not measured (no metrics, no amount on its "
                            f"command line); its log suggests ~{hint} (candidate limit {memory_with_headroom(limit + seen[0])}), "
                            "which a person confirms before the limit changes")
            else:
                cause = (f"OOMKilled: container {name} exceeds its {limit_text} memory limit" if limit_text
                         else f"OOMKilled: container {name} is killed for memory with no limit set (node pressure)")
                new_limit = None
                why = "measure the working set (metrics, a run with a generous limit) and set the limit 25 % above its peak"
                escalate = ("how much memory the container needs was not observed (no metrics, no amount on its command "
                            "line or in its log); a guessed limit could OOM again, so a human sizes it")
            cause += f" (exit 137, {restarts} restarts)." if (restarts := status.get("restartCount", 0)) else " (exit 137)."
            fixes = (FixDraft(f"{pods.container_path(pod, name)}.resources.limits.memory", new_limit, why),) \
                if new_limit or limit_text else ()
            clues = (Clue.of("OOMKilled", "137", call_id=source),) + ((clue,) if clue else ())
            confidence = (0.95 if seen[3] else 0.9) if seen else 0.8
            return Finding("oom_killed", cause, confidence, pods.ref(pod), clues, fixes, escalate=escalate)
    return None


def _binary_not_found(text: str) -> str | None:
    for pattern in _NOT_FOUND:
        if match := pattern.search(text):
            return match.group(1)
    return None


def _start_failures(facts: Facts, pod: dict[str, Any]) -> list[tuple[str, str]]:
    """(container, message) for every failed start the pod shows, in statuses, events and logs."""
    found = []
    for status in pods.statuses(pod):
        for holder in list(pods.terminations(status)) + [pods.waiting(status)]:
            if holder.get("message"):
                found.append((status["name"], holder["message"]))
    for seen in facts.events_for("Pod", pods.name(pod), reasons=("Failed",)):
        path = seen.obj.get("involvedObject", {}).get("fieldPath") or ""
        owner = re.search(r"\{(.+)\}", path)
        found.append((owner.group(1) if owner else "", seen.obj.get("message") or ""))
    for log in facts.logs_for(pods.name(pod)):
        found.append((log.container or "", log.text))
    return found


@check("bad_command")
def bad_command(facts: Facts) -> Finding | None:
    """The command names an executable the image does not have (StartError 128, shell 127)."""
    for pod in facts.pods():
        for container_name, message in _start_failures(facts, pod):
            binary = _binary_not_found(message)
            if not binary:
                continue
            names = [c["name"] for c in pods.containers(pod)]
            container_name = container_name if container_name in names else names[0] if names else container_name
            spec = pods.container(pod, container_name)
            field = "command" if binary in (spec.get("command") or []) or not spec.get("args") else "args"
            before = previous_container_field(facts, pod, container_name, lambda c, f=field: c.get(f))
            if before is not None:
                fix = FixDraft(f"{pods.container_path(pod, container_name)}.{field}", before,
                               f"the previous revision ran {field} {before}; `{binary}` came with a later change")
            else:
                # A likely spelling is a candidate for a person, never a value: nothing in the cluster shows
                # which executables the image has.
                near = difflib.get_close_matches(binary.rsplit("/", 1)[-1], _COMMON_BINARIES, n=3, cutoff=0.7)
                fix = FixDraft(f"{pods.container_path(pod, container_name)}.{field}", None,
                               f"`{binary}` is not in the image and no earlier revision shows the command that ran"
                               + (f"; candidates for the author to confirm: {', '.join(near)}" if near else ""))
            cause = f"the command of container {container_name} names `{binary}`, which does not exist in image {spec.get('image', '?')}."
            return Finding("bad_command", cause, 0.92, pods.ref(pod),
                           (Clue.of(f'"{binary}": executable file not found', f"{binary}: not found", "executable file not found",
                                    binary, call_id=facts.source("Pod", pod["metadata"].get("namespace"), pods.name(pod))),),
                           (fix,))
    return None


def _crash_looping(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in pods.statuses(pod)
            if pods.waiting(s).get("reason") == "CrashLoopBackOff"
            or any(t.get("exitCode") not in (None, 0) for t in pods.terminations(s))]


@check("app_error_exit")
def app_error_exit(facts: Facts) -> Finding | None:
    """The process starts and exits by itself; quote the last error line it logged."""
    for pod in facts.pods():
        for status in _crash_looping(pod):
            last = next(pods.terminations(status), {})
            if last.get("reason") in ("OOMKilled", "StartError") or last.get("exitCode") in (127, 128, 137):
                continue
            name = status["name"]
            lines = [line for log in facts.logs_for(pods.name(pod), name) for line in log.text.splitlines()[-100:]]
            errors = [line.strip() for line in lines if _ERROR_LINE.search(line)]
            said = errors[-1] if errors else None
            code = last.get("exitCode")
            cause = (f"container {name} exits with code {code} on its own" if code is not None else f"container {name} keeps exiting")
            cause += f"; its last error: {said}" if said else "; its log shows no error line."
            clues = (Clue.of(said),) if said else (Clue.of("CrashLoopBackOff", "Error"),)
            if before := previous_image(facts, pod, name):
                image = pods.container(pod, name).get("image")
                fix = FixDraft(f"{pods.container_path(pod, name)}.image", before,
                               f"the previous revision ran {before} without crashing; roll back, then fix the release")
                return Finding("crash_loop_app_error", f"{cause} It began with the release of {image}.",
                               0.8 if said else 0.7, pods.ref(pod), clues + (Clue.of(image),), (fix,))
            return Finding("crash_loop_app_error", cause, 0.7 if said else 0.5, pods.ref(pod), clues,
                           escalate="the application exits on its own; the fix is in its code, release or a dependency")
    return None
