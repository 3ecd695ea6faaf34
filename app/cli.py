"""The `opsgraph` command: serve, demo, sim, config."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from app.settings import ConfigurationError, load_settings, settings_table_markdown

EXIT_CONFIG = 2
EXIT_STARTUP = 3


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_CONFIG
    try:
        return int(args.handler(args) or 0)
    except ConfigurationError as exc:
        print(f"opsgraph: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="opsgraph", description="Kubernetes alerts, answered by agents.")
    sub = parser.add_subparsers(metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", help="bind address (default: OPSGRAPH_HOST)")
    serve.add_argument("--port", type=int, help="port (default: OPSGRAPH_PORT)")
    serve.set_defaults(handler=_serve)

    config = sub.add_parser("config", help="print the effective configuration, secrets masked")
    fmt = config.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="as JSON")
    fmt.add_argument("--markdown", action="store_true", help="the README's table of variables")
    config.set_defaults(handler=_config)

    demo = sub.add_parser("demo", help="embedded Postgres + simulated cluster + the service, end to end")
    demo.add_argument("--scenario", default="oom_memory_hog", help="scenario name or file")
    demo.add_argument("--yes", action="store_true", help="run unattended and exit 0 when the story is told")
    demo.add_argument("--port", type=int, default=0, help="service port (default: a free one)")
    demo.set_defaults(handler=_demo)

    bench = sub.add_parser("bench", help="benchmarks")
    bench_sub = bench.add_subparsers(metavar="BENCHMARK")
    intake = bench_sub.add_parser("intake", help="webhook acknowledgement latency, throughput and loss check")
    intake.add_argument("--rate", type=float, default=200.0, help="steady phase: alerts per second (default 200)")
    intake.add_argument("--seconds", type=float, default=10.0, help="length of each phase (default 10)")
    intake.add_argument("--concurrency", type=int, default=32, help="peak phase: concurrent clients (default 32)")
    intake.add_argument("--alerts-per-request", type=int, default=1, help="alerts per delivery (default 1)")
    intake.add_argument("--repeat", type=int, default=1,
                        help="whole runs, each on a fresh database and service; prints the medians (default 1)")
    intake.set_defaults(handler=_bench_intake)
    bench_diag = bench_sub.add_parser("diagnose", help="diagnosis wall time (offline) and prompt tokens (scripted model)")
    bench_diag.add_argument("--scenarios", default=None, help="folder of scenario files (default: the shipped ones)")
    bench_diag.add_argument("--repeat", type=int, default=3, help="offline runs per scenario (median reported)")
    bench_diag.set_defaults(handler=_bench_diagnose)
    bench_chat = bench_sub.add_parser("chat", help="chat turns through the service: first token, final values")
    bench_chat.add_argument("--turns", type=int, default=20, help="turns per kind (default 20)")
    bench_chat.add_argument("--tokens", type=int, default=200, help="tokens in each scripted answer (default 200)")
    bench_chat.set_defaults(handler=_bench_chat)
    bench_eval = bench_sub.add_parser("eval", help="the whole scoreboard: public suite x K (pass^K) and N variants")
    bench_eval.add_argument("--repeat", type=int, default=3, help="runs of the public suite (default 3)")
    bench_eval.add_argument("--variants", type=int, default=300, help="generated variants (default 300)")
    bench_eval.add_argument("--seed", type=int, default=7, help="seed of the variants (default 7)")
    bench_eval.add_argument("--log", default="opsgraph-bench-eval.log", help="where every row is written")
    bench_eval.set_defaults(handler=_bench_eval)
    bench.set_defaults(handler=lambda _args: bench.print_help() or EXIT_CONFIG)

    diagnose = sub.add_parser("diagnose", help="diagnose a scenario, or a namespace of a real cluster, and print it")
    target = diagnose.add_mutually_exclusive_group(required=True)
    target.add_argument("--scenario", help="scenario name or file (runs a fresh simulated cluster)")
    target.add_argument("--namespace", help="namespace to diagnose on the cluster of --kubeconfig")
    diagnose.add_argument("--resource", help="KIND/NAME in --namespace, e.g. deployment/web")
    diagnose.add_argument("--kubeconfig", help="kubeconfig of the cluster (default: KUBECONFIG, or in-cluster)")
    diagnose.add_argument("--context", help="kubeconfig context")
    diagnose.add_argument("--json", action="store_true", help="print the diagnosis as JSON")
    diagnose.set_defaults(handler=_diagnose)

    evaluate = sub.add_parser("eval", help="run scenarios through the service and compare with their expect blocks")
    evaluate.add_argument("--scenarios", default=None, help="folder of scenario files (default: the shipped ones)")
    evaluate.add_argument("--repeat", type=int, default=1, help="runs per scenario; reports pass^K")
    evaluate.add_argument("--json", dest="json_path", help="also write the rows and figures to this file")
    evaluate.add_argument("--variants", type=int, default=0,
                          help="instead of the scenarios themselves, run N generated variants of them (other names, "
                               "owners, containers, alerts, repository layouts, noise): the generalisation suite")
    evaluate.add_argument("--seed", type=int, default=1, help="seed of the variants (the same seed gives the same suite)")
    evaluate.add_argument("--min-pass", type=float, default=1.0,
                          help="exit 0 when at least this share of rows passes (default 1.0: every row must pass)")
    evaluate.set_defaults(handler=_eval)

    chat = sub.add_parser("chat", help="talk to the service: stream answers and agent steps, answer approvals")
    chat.add_argument("--url", help="service URL (default: http://OPSGRAPH_HOST:OPSGRAPH_PORT)")
    chat.add_argument("--token", help="API token (default: OPSGRAPH_API_TOKEN)")
    chat.add_argument("--thread", help="continue this thread (default: a new one)")
    chat.add_argument("--message", "-m", help="send one turn and exit (default: interactive)")
    chat.add_argument("--approver", default="cli", help="your name on approval decisions (default: cli)")
    chat.set_defaults(handler=_chat)

    toolsets = sub.add_parser("toolsets", help="which toolsets are enabled, and why the others are not")
    toolsets.set_defaults(handler=_toolsets)

    approver = sub.add_parser("approver-token", help="make a personal approver token and its hashed setting entry")
    approver.add_argument("name", help="the approver's name, as decisions will record it")
    approver.set_defaults(handler=_approver_token)

    sim = sub.add_parser("sim", help="the simulated Kubernetes cluster")
    sim_sub = sim.add_subparsers(metavar="SIMCOMMAND")
    sim_serve = sim_sub.add_parser("serve", help="serve one scenario and print its kubeconfig path")
    sim_serve.add_argument("scenario", help="scenario name (see `opsgraph sim list`) or file")
    sim_serve.add_argument("--port", type=int, default=0)
    sim_serve.add_argument("--kubeconfig", help="where to write the kubeconfig")
    sim_serve.add_argument("--gitops", metavar="DIR", help="also create the scenario's GitOps repository there "
                           "(a bare git repo, for OPSGRAPH_GITOPS_REPO_URL)")
    sim_serve.set_defaults(handler=_sim_serve)
    sim_list = sim_sub.add_parser("list", help="list the shipped scenarios")
    sim_list.set_defaults(handler=_sim_list)
    sim.set_defaults(handler=lambda _args: sim.print_help() or EXIT_CONFIG)

    # The knowledge base (issue 13): handlers live in app/knowledge/setup.py.
    kb = sub.add_parser("kb", help="the knowledge base: ingest runbooks, search")
    kb_sub = kb.add_subparsers(metavar="KBCOMMAND")
    kb_ingest = kb_sub.add_parser("ingest", help="ingest Markdown runbooks (files or folders), chunked by headings")
    kb_ingest.add_argument("paths", nargs="+", metavar="PATH")
    kb_ingest.set_defaults(handler=lambda args: _kb(args, "ingest"))
    kb_search = kb_sub.add_parser("search", help="hybrid search, ranked as the search_knowledge tool ranks")
    kb_search.add_argument("query")
    kb_search.add_argument("--source", choices=["runbook", "incident", "human_help"])
    kb_search.add_argument("--skill")
    kb_search.add_argument("--limit", type=int, default=5)
    kb_search.set_defaults(handler=lambda args: _kb(args, "search"))
    kb.set_defaults(handler=lambda _args: kb.print_help() or EXIT_CONFIG)
    bench_kb = bench_sub.add_parser("kb", help="knowledge base: ingest rate and hybrid search p50/p95")
    bench_kb.add_argument("--chunks", type=int, default=10_000, help="chunks to ingest (default 10000)")
    bench_kb.add_argument("--queries", type=int, default=200, help="searches to time (default 200)")
    bench_kb.set_defaults(handler=_bench_kb)
    # The monitoring pipeline (issue 15): flags and handlers live in app/monitoring/cli.py.
    from app.monitoring.cli import add_monitoring_arguments

    add_monitoring_arguments(evaluate, sim_serve, demo)
    return parser


def _kb(args: argparse.Namespace, command: str) -> int:
    from app.knowledge.setup import run_kb_command

    settings = load_settings()
    quiet()
    return run_kb_command(settings, command, args)


def _approver_token(args: argparse.Namespace) -> int:
    from app.api.approver_tokens import new_approver_token

    token, entry = new_approver_token(args.name.strip())
    print(f"token for {args.name} (give it to them; it is not stored anywhere): {token}")
    print(f"add to OPSGRAPH_APPROVER_TOKENS (comma-separated): {entry}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = load_settings(**overrides)
    from app.clusters import ClusterError, ClusterRegistry
    from app.service import run_service

    try:
        # A configuration error like any other (exit 2), found before a database is started or reached.
        ClusterRegistry.from_settings(settings)
    except ClusterError as exc:
        raise ConfigurationError(f"invalid configuration: OPSGRAPH_CLUSTERS_FILE: {exc}") from None
    return run_service(settings)


def _bench_diagnose(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.bench.diagnose import run_bench_diagnose

    quiet()
    return run_bench_diagnose(Path(args.scenarios) if args.scenarios else None, max(1, args.repeat))


def _bench_kb(args: argparse.Namespace) -> int:
    import asyncio

    from app.bench.kb import run_kb_bench

    settings = load_settings()
    quiet()
    return asyncio.run(run_kb_bench(settings, chunks=max(100, args.chunks), queries=max(10, args.queries)))


def _bench_eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.bench.eval import run_eval_bench

    if args.repeat < 1 or args.variants < 1:
        print("opsgraph: --repeat and --variants must be at least 1", file=sys.stderr)
        return EXIT_CONFIG
    settings = load_settings()
    quiet()
    return run_eval_bench(settings, repeat=args.repeat, variants=args.variants, seed=args.seed, log=Path(args.log))


def _bench_chat(args: argparse.Namespace) -> int:
    from app.bench.chat import run_chat_bench

    quiet()
    return run_chat_bench(load_settings(), turns=max(1, args.turns), tokens=max(1, args.tokens))


def _bench_intake(args: argparse.Namespace) -> int:
    settings = load_settings()
    from app.bench.intake import run_intake_bench

    return run_intake_bench(settings, rate=args.rate, seconds=args.seconds, concurrency=args.concurrency,
                            per_request=args.alerts_per_request, repeat=max(1, args.repeat))


def _diagnose(args: argparse.Namespace) -> int:
    import asyncio
    from pathlib import Path

    from app.diagnose import diagnose, diagnose_scenario, parse_resource, print_diagnosis

    settings = load_settings()
    quiet()
    if args.scenario:
        from sim.scenario import ScenarioError, find_scenario, load_scenario

        try:
            scenario = load_scenario(find_scenario(args.scenario))
        except (ScenarioError, FileNotFoundError) as exc:
            print(f"opsgraph: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        result = asyncio.run(diagnose_scenario(scenario, settings))
    else:
        from agents.diagnosis import IncidentInput

        try:
            resource = parse_resource(args.resource, args.namespace)
        except ValueError as exc:
            print(f"opsgraph: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        kubeconfig = Path(args.kubeconfig) if args.kubeconfig else settings.kubeconfig
        incident = IncidentInput(cluster=settings.default_cluster, namespace=args.namespace, resource=resource)
        result = asyncio.run(diagnose(settings, incident, kubeconfig, args.context))
    print_diagnosis(result, sys.stdout, args.json)
    return 0 if result["diagnosis"]["status"] != "failed" else 1


def _eval(args: argparse.Namespace) -> int:
    import asyncio
    from pathlib import Path

    from app.eval.report import run_eval
    from sim.scenario import scenario_dir

    if args.repeat < 1 or args.variants < 0 or not 0.0 <= args.min_pass <= 1.0:
        print("opsgraph: --repeat must be at least 1, --variants at least 0, --min-pass between 0 and 1",
              file=sys.stderr)
        return EXIT_CONFIG
    folder = Path(args.scenarios) if args.scenarios else scenario_dir()
    if not folder.is_dir():
        print(f"opsgraph: {folder} is not a folder of scenario files", file=sys.stderr)
        return EXIT_CONFIG
    settings = load_settings()
    quiet()
    json_path = Path(args.json_path) if args.json_path else None
    return asyncio.run(run_eval(settings, folder, repeat=args.repeat, json_path=json_path, out=sys.stdout,
                                variants=args.variants, seed=args.seed, min_pass=args.min_pass, alerts=args.alerts))


def _toolsets(_args: argparse.Namespace) -> int:
    from app.diagnose import toolset_table

    print(toolset_table(load_settings()))
    return 0


def quiet() -> None:
    """Commands that print a report keep the service's own logs to warnings."""
    from app.observability import configure_logging

    configure_logging("WARNING", "text")


def _chat(args: argparse.Namespace) -> int:
    from app.chat.terminal import run_terminal_chat

    settings = load_settings()
    token = args.token or (settings.api_token.get_secret_value() if settings.api_token else None)
    if not token:
        print("opsgraph: no API token: pass --token or set OPSGRAPH_API_TOKEN", file=sys.stderr)
        return EXIT_CONFIG
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    return run_terminal_chat(args.url or f"http://{host}:{settings.port}", token, thread_id=args.thread,
                             message=args.message, approver=args.approver, out=sys.stdout, ask=input)


def _config(args: argparse.Namespace) -> int:
    if args.markdown:
        print(settings_table_markdown())
        return 0
    settings = load_settings()
    masked = settings.masked()
    if args.json:
        print(json.dumps(masked, indent=2, default=str))
        return 0
    from app.settings import env_var_for

    width = max(len(env_var_for(name)) for name in masked)
    for name, value in masked.items():
        shown = "" if value is None else value
        print(f"{env_var_for(name):<{width}}  {shown}")
    return 0


def _sim_list(_args: argparse.Namespace) -> int:
    from sim.scenario import load_scenario, scenario_dir

    for path in sorted(scenario_dir().glob("*.yaml")):
        scenario = load_scenario(path)
        print(f"{path.stem:<36} {scenario.expect.category:<24} {scenario.description.strip().splitlines()[0]}")
    return 0


def _sim_serve(args: argparse.Namespace) -> int:
    import signal
    import threading
    from pathlib import Path

    from sim.gitops import seed_bare_repo
    from sim.runtime import start_sim
    from sim.scenario import ScenarioError, find_scenario, load_scenario

    gitops = Path(args.gitops).resolve() if args.gitops else None
    try:
        path = find_scenario(args.scenario)
        if gitops is not None:
            if gitops.exists() and any(gitops.iterdir()):
                raise ScenarioError(f"--gitops {gitops}: the directory is not empty; name a new one")
            seed_bare_repo(load_scenario(path).gitops.files, gitops)
        kubeconfig_dir = Path(args.kubeconfig).parent if args.kubeconfig else None
        running = start_sim(path, port=args.port, kubeconfig_dir=kubeconfig_dir)
    except (ScenarioError, FileNotFoundError) as exc:
        print(f"opsgraph: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with running:
        if args.kubeconfig and Path(args.kubeconfig) != running.kubeconfig_path:
            Path(args.kubeconfig).write_text(running.kubeconfig_path.read_text())
            print(args.kubeconfig, flush=True)
        else:
            print(running.kubeconfig_path, flush=True)
        print(f"simulated cluster for {path.stem} at {running.url}; Ctrl-C stops it", file=sys.stderr)
        if gitops is not None:
            print(f"GitOps repository of {path.stem}: {gitops} (OPSGRAPH_GITOPS_REPO_URL={gitops})", file=sys.stderr)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return 0


def _demo(args: argparse.Namespace) -> int:
    settings = load_settings()
    from app.demo import run_demo

    return run_demo(settings, scenario=args.scenario, unattended=args.yes, port=args.port, monitoring=args.monitoring)



if __name__ == "__main__":
    raise SystemExit(main())
