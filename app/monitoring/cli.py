"""The command-line side of the monitoring pipeline: `opsgraph eval --honesty`, `opsgraph eval --alerts
derived` and `opsgraph sim serve SCENARIO --monitoring`.

`add_monitoring_arguments` adds the flags to the existing sub-commands and wraps their handlers: with a
monitoring flag the work is done here, without one the original handler runs unchanged.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

Handler = Callable[[argparse.Namespace], int]
EXIT_FAILED = 1
EXIT_CONFIG = 2


def add_monitoring_arguments(evaluate: argparse.ArgumentParser, sim_serve: argparse.ArgumentParser,
                             demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--monitoring", action="store_true",
                      help="the alert is born in a real Prometheus (kubernetes-mixin rules) from the simulated "
                           "cluster's metrics, routed by a real Alertmanager, and resolved after the fix")
    evaluate.add_argument("--honesty", action="store_true",
                          help="instead of diagnosing: check that the real kubernetes-mixin rules, run by a real "
                               "Prometheus on each scenario's metrics, fire the alerts the scenario declares")
    evaluate.add_argument("--alerts", choices=["file", "derived"], default="file",
                          help="where a scenario's alert comes from: its file (default), or `derived`: real "
                               "Prometheus and Alertmanager on the simulated cluster's metrics, resolution included")
    sim_serve.add_argument("--monitoring", action="store_true",
                           help="also run Prometheus (kubernetes-mixin rules, test profile) and Alertmanager on it")
    sim_serve.add_argument("--webhook-url", help="where Alertmanager posts (default: opsgraph's own "
                                                 "/webhooks/alertmanager at OPSGRAPH_HOST:OPSGRAPH_PORT)")
    sim_serve.add_argument("--rules-profile", choices=["test", "production"], default="test",
                           help="`test` (default) shortens `for:` and range windows so alerts fire in seconds")
    _wrap(evaluate, lambda args: args.honesty, _honesty)
    _wrap(sim_serve, lambda args: args.monitoring, _serve_monitored)


def _wrap(parser: argparse.ArgumentParser, wanted: Callable[[argparse.Namespace], bool], handler: Handler) -> None:
    original: Handler = parser.get_default("handler")
    parser.set_defaults(handler=lambda args: handler(args) if wanted(args) else original(args))


def _honesty(args: argparse.Namespace) -> int:
    from app.monitoring.pipeline import MonitoringUnavailable
    from sim.scenario import scenario_dir

    folder = Path(args.scenarios) if args.scenarios else scenario_dir()
    if not folder.is_dir():
        print(f"opsgraph: {folder} is not a folder of scenario files", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return run_honesty(sorted(folder.glob("*.yaml")), sys.stdout)
    except MonitoringUnavailable as exc:
        print(f"opsgraph: {exc}", file=sys.stderr)
        return EXIT_CONFIG


def run_honesty(paths: list[Path], out: TextIO) -> int:
    from app.monitoring.honesty import check_scenarios

    results, seconds = check_scenarios(paths)
    for result in results:
        print(result.explain(), file=out)
    passed = sum(r.passed for r in results)
    print(f"\nhonesty: {passed}/{len(results)} scenarios fire what they declare "
          f"({sum(len(r.team) for r in results)} team alerts not looked for); one Prometheus, {seconds:.1f} s",
          file=out)
    return 0 if passed == len(results) else EXIT_FAILED


def _serve_monitored(args: argparse.Namespace) -> int:
    import signal
    import threading

    from app.monitoring.pipeline import MonitoringUnavailable, ScrapeTarget, Webhook, start_monitoring
    from app.settings import load_settings
    from sim.runtime import start_sim
    from sim.scenario import ScenarioError, find_scenario

    settings = load_settings()
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    webhook = Webhook(args.webhook_url or f"http://{host}:{settings.port}/webhooks/alertmanager",
                      settings.webhook_token.get_secret_value() if settings.webhook_token else None)
    try:
        path = find_scenario(args.scenario)
        kubeconfig_dir = Path(args.kubeconfig).parent if args.kubeconfig else None
        running = start_sim(path, port=args.port, kubeconfig_dir=kubeconfig_dir)
    except (ScenarioError, FileNotFoundError) as exc:
        print(f"opsgraph: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with running, contextlib.ExitStack() as stack:
        try:
            pipeline = stack.enter_context(
                start_monitoring([ScrapeTarget(running.url)], webhook=webhook, profile=args.rules_profile))
        except MonitoringUnavailable as exc:
            print(f"opsgraph: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        if args.kubeconfig and Path(args.kubeconfig) != running.kubeconfig_path:
            Path(args.kubeconfig).write_text(running.kubeconfig_path.read_text())
            print(args.kubeconfig, flush=True)
        else:
            print(running.kubeconfig_path, flush=True)
        print(f"simulated cluster for {path.stem} at {running.url} (metrics at {running.url}/metrics)\n"
              f"Prometheus at {pipeline.prometheus_url} ({args.rules_profile} rules), Alertmanager at "
              f"{pipeline.alertmanager_url} posting to {webhook.url}; Ctrl-C stops all three", file=sys.stderr)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return 0
