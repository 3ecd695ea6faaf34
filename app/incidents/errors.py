"""Domain errors of the incident store; `app/api/errors.py` maps them to HTTP answers."""

from __future__ import annotations


class IncidentNotFound(LookupError):
    def __init__(self, incident_id: int) -> None:
        super().__init__(f"incident {incident_id} does not exist")
        self.incident_id = incident_id


class IllegalTransition(ValueError):
    def __init__(self, incident_id: int, current: str, target: str) -> None:
        super().__init__(
            f"incident {incident_id} cannot go from {current} to {target}; it stays {current}"
        )
        self.incident_id = incident_id
        self.current = current
        self.target = target
