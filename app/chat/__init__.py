"""The chat side of the edge: threads and runs in the LangGraph server API's shape (issue 12)."""
