"""Outbound integrations: the only code that talks to GitHub (and, later, Slack)."""
