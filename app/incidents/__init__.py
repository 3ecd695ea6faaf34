"""Incidents: how alerts are grouped, prioritised, stored and queued for the agents."""
