"""Which channel an incident's card goes to: `OPSGRAPH_SLACK_ROUTES` rules, first match, else `SLACK_CHANNEL`."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

KEYS = ("cluster", "namespace", "priority")


class RouteError(ValueError):
    pass


@dataclass(frozen=True)
class ChannelRule:
    key: str
    value: str
    channel: str

    def matches(self, cluster: str, namespace: str | None, priority: int) -> bool:
        if self.key == "priority":
            return priority <= int(self.value)  # 1 is the most urgent: `priority=2` takes 1 and 2
        subject = cluster if self.key == "cluster" else (namespace or "")
        return fnmatchcase(subject, self.value)


def parse_routes(text: str) -> list[ChannelRule]:
    """`cluster=prod>C0PROD;priority=1>C0PAGE` → rules; RouteError names the first bad one."""
    rules = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        condition, arrow, channel = part.partition(">")
        key, equals, value = condition.partition("=")
        key, value, channel = key.strip(), value.strip(), channel.strip()
        if not arrow or not equals or key not in KEYS or not value or not channel:
            raise RouteError(f"bad Slack route {part!r}: expected key=value>CHANNEL with key one of {', '.join(KEYS)}")
        if key == "priority" and not value.isdigit():
            raise RouteError(f"bad Slack route {part!r}: priority takes a number")
        rules.append(ChannelRule(key, value, channel))
    return rules


def channel_for(rules: list[ChannelRule], default: str | None, *, cluster: str, namespace: str | None,
                priority: int) -> str | None:
    for rule in rules:
        if rule.matches(cluster, namespace, priority):
            return rule.channel
    return default
