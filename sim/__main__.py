"""`python -m sim serve SCENARIO [--port N] [--kubeconfig PATH]`: one simulated cluster in the foreground."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from sim.kubeconfig import write_kubeconfig
from sim.runtime import start_sim


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim", description="Simulated Kubernetes API server.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a scenario until Ctrl-C or SIGTERM")
    serve.add_argument("scenario", help="a shipped scenario name (e.g. oom_memory_hog) or a path to its YAML")
    serve.add_argument("--port", type=int, default=0, help="port to bind on 127.0.0.1 (default: a free one)")
    serve.add_argument("--kubeconfig", type=Path, help="where to write the kubeconfig (default: a temp file)")
    serve.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    sim = start_sim(args.scenario, port=args.port, verbose=args.verbose)
    if args.kubeconfig is not None:
        sim.kubeconfig_path = write_kubeconfig(args.kubeconfig, sim.url)
    done = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(sim.kubeconfig_path, flush=True)
    print(f"sim: serving {sim.scenario.name} at {sim.url}; kubectl --kubeconfig {sim.kubeconfig_path} get pods -A",
          file=sys.stderr, flush=True)
    try:
        done.wait()
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
