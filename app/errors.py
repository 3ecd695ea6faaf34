"""Start-up failures that end the process with one clear line instead of a traceback."""

from __future__ import annotations


class StartupFailed(RuntimeError):
    """Raised from the lifespan once the reason has been logged as one line."""
