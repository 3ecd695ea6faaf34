"""Approval decisions: recorded once, then handed to the paused graph by a resume work item."""
