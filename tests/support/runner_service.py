"""`python -m tests.support.runner_service --port N [--release-file F]`: the service with the probe runner.

Settings come from the environment like `opsgraph serve`; only the runner differs, so tests can
kill a real process mid-diagnosis.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.main import create_app
from app.services import Services
from app.observability import configure_logging
from app.settings import load_settings
from tests.support.checkpoint_runner import ProbeGraphRunner


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--release-file", type=Path)
    parser.add_argument("--resolve-on-finish", action="store_true")
    args = parser.parse_args()
    settings = load_settings(port=args.port)
    configure_logging(settings.log_level, settings.log_format)

    def factory(services: Services) -> ProbeGraphRunner:
        return ProbeGraphRunner(services.database.pool, services.incidents, release_file=args.release_file,
                                resolve_on_finish=args.resolve_on_finish)

    import uvicorn

    app = create_app(settings, runner_factory=factory)
    uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=args.port, log_config=None, lifespan="on")).run()


if __name__ == "__main__":
    main()
