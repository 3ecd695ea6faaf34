"""The one place opsgraph reads its configuration from the environment.

Every field has a description; the README's configuration table is generated from them
(`opsgraph config --markdown`). Nothing else in the code base reads `os.environ`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "OPSGRAPH_"


def default_data_dir() -> Path:
    """Where the embedded Postgres and other local state live when nothing is configured.

    As root the embedded Postgres server runs as a dedicated system user and widens the
    permissions of every parent of its data directory so that user can reach it; under
    /root that would open the root user's home, so root gets /var/lib/opsgraph instead.
    """
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/opsgraph")
    return Path(platformdirs.user_data_dir("opsgraph", appauthor=False))


def _env(name: str, *conventional: str) -> AliasChoices:
    """Accept OPSGRAPH_<NAME> and, where one exists, the conventional variable name."""
    return AliasChoices(ENV_PREFIX + name.upper(), *conventional)


class Settings(BaseSettings):
    """Effective configuration of one opsgraph process."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="ignore",
        populate_by_name=True,
        validate_default=True,
    )

    # --- service -------------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address `opsgraph serve` binds to.")
    port: int = Field(8080, ge=1, le=65535, description="Port `opsgraph serve` listens on.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Lowest level of log records written."
    )
    log_format: Literal["json", "text"] = Field(
        "json", description="`json` writes one JSON object per line (for log shippers); `text` is for people."
    )
    shutdown_grace_seconds: float = Field(
        20.0, gt=0, description="How long a stopping process lets in-flight requests and graph steps finish."
    )

    # --- database ------------------------------------------------------------------------------
    database_url: SecretStr | None = Field(
        None,
        validation_alias=_env("database_url", "DATABASE_URL"),
        description="Postgres URL (`postgresql://user:pass@host:5432/db`). Unset: an embedded Postgres "
        "with pgvector is started in `OPSGRAPH_DATA_DIR` and stopped on exit.",
    )
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Local state (the embedded Postgres data directory). Default: the user's data dir, "
        "or /var/lib/opsgraph when running as root (the embedded server widens permissions on the "
        "parents of its directory, which must not be the root user's home).",
    )
    db_pool_min_size: int = Field(1, ge=0, description="Connections the pool keeps open.")
    db_pool_max_size: int = Field(10, ge=1, description="Most connections the pool opens.")
    db_pgbouncer: bool = Field(
        False,
        description="Set when DATABASE_URL points at PgBouncer in transaction mode: turns off "
        "server-side prepared statements (`prepare_threshold=None`).",
    )
    db_connect_timeout_seconds: float = Field(
        10.0, gt=0, description="How long start-up waits for the database before failing."
    )
    demo_database: str = Field(
        "opsgraph_demo", pattern=r"^$|^[a-z_][a-z0-9_]{0,62}$",
        description="Database that `opsgraph demo` and `opsgraph eval` use, on the same server as the service's "
        "(the embedded one or DATABASE_URL's), created when missing; so their incidents never appear in "
        "`opsgraph serve`'s. Empty: they use the service's own database.",
    )
    test_crash_at: str | None = Field(
        None, description="Test only (the kill tests): a worker SIGKILLs itself at this step boundary: "
        "`before:<graph node>`, `after_commit`, `after_push` or `after_pull_request`. Never set it in production.",
    )

    # --- auth ----------------------------------------------------------------------------------
    api_token: SecretStr | None = Field(
        None, description="Bearer token for the incident and thread API. Unset: the API refuses requests."
    )
    webhook_token: SecretStr | None = Field(
        None, description="Bearer token (or basic-auth password) Alertmanager must send to the webhook."
    )

    # --- intake --------------------------------------------------------------------------------
    webhook_max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest webhook body accepted; larger ones get 413 (counted while "
        "reading, not taken from Content-Length)."
    )
    request_db_timeout_seconds: float = Field(
        5.0, gt=0, description="How long a request waits for a database connection before answering 503 "
        "(Alertmanager retries 5xx answers, so nothing is lost)."
    )
    join_window_seconds: float = Field(
        300.0, gt=0, description="Alerts for the same cluster, namespace, workload and alert family join one "
        "open incident while its last alert is younger than this."
    )
    cluster_label: str = Field(
        "cluster", min_length=1, description="Alert label naming the cluster (`cluster` and `cluster_id` are "
        "also accepted)."
    )
    default_cluster: str = Field(
        "default", min_length=1, description="Cluster id of alerts without a cluster label: KUBECONFIG or "
        "in-cluster credentials, unless clusters.yaml defines it."
    )
    owner_lookup_timeout_seconds: float = Field(
        1.0, ge=0, le=10, description="Intake asks the alert's cluster which workload owns a pod "
        "(ownerReferences: Pod → ReplicaSet → Deployment, Job → CronJob, DaemonSet, StatefulSet) and waits "
        "this long; on a timeout, an error or an unknown pod it falls back to the pod-name pattern. "
        "0: never ask, use the pattern only."
    )
    owner_cache_seconds: float = Field(
        600.0, ge=0, description="How long a pod's owner, once looked up, is reused without asking again."
    )
    workers: int = Field(
        4, ge=0, description="Async workers per process that claim incidents from the queue (0: this "
        "process only takes alerts in)."
    )
    worker_lease_seconds: float = Field(
        60.0, gt=0, description="How long a claimed item stays a worker's without a heartbeat; a killed "
        "worker's item is resumed by another after this. Heartbeats run every third of it."
    )
    worker_poll_seconds: float = Field(
        5.0, gt=0, description="Workers look for work this often even without a LISTEN/NOTIFY wake-up (lost "
        "notifications, expired leases, retries coming due)."
    )
    worker_cluster_concurrency: int = Field(
        2, ge=1, description="Most items running at once for one cluster across all replicas, so a noisy "
        "cluster cannot starve the others."
    )
    work_max_attempts: int = Field(5, ge=1, description="Attempts an incident's work gets before it fails.")
    work_deadline_seconds: float = Field(
        3600.0, gt=0, description="An item that has not succeeded this long after it was queued fails "
        "instead of retrying."
    )
    work_retry_base_seconds: float = Field(
        10.0, gt=0, description="First retry delay; it doubles with every attempt unless the runner names one."
    )
    k8s_events_enabled: bool = Field(
        False, description="Also open incidents from Kubernetes Warning events (a watch per cluster)."
    )
    k8s_events_clusters: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated cluster ids to watch for Warning events "
        "(empty: the default cluster)."
    )
    k8s_events_namespaces: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated namespaces to watch (empty: all namespaces)."
    )

    # --- model ---------------------------------------------------------------------------------
    openai_api_key: SecretStr | None = Field(
        None,
        validation_alias=_env("openai_api_key", "OPENAI_API_KEY"),
        description="Key for the OpenAI-compatible endpoint. Unset (and no base URL): the offline rule "
        "engine diagnoses alone.",
    )
    openai_base_url: str | None = Field(
        None,
        validation_alias=_env("openai_base_url", "OPENAI_BASE_URL"),
        description="OpenAI-compatible endpoint (vLLM, Ollama `http://localhost:11434/v1`, LocalAI).",
    )
    model: str = Field("gpt-4o-mini", description="Chat model used by the agents.")
    large_model: str | None = Field(
        None, description="Larger model to escalate to on low confidence. Unset: no escalation."
    )

    # --- diagnosis budgets (loop guards; each trip forces a conclusion with partial findings) ------
    diagnosis_max_steps: int = Field(12, ge=2, le=100, description="Most model steps one investigation takes.")
    diagnosis_token_budget: int = Field(
        60_000, ge=1_000, description="Most prompt + completion tokens one incident may spend."
    )
    diagnosis_timeout_seconds: float = Field(
        300.0, gt=0, description="Wall-clock limit for one incident's investigation."
    )

    # --- remediation (GitOps pull requests behind an approval) ----------------------------------
    gitops_repo_url: str | None = Field(
        None, description="Git URL of the GitOps repo holding the manifests (https, ssh or a path). "
        "Unset: diagnoses that need a change are escalated to a person instead of planned.")
    gitops_base_branch: str = Field("main", description="Branch pull requests target.")
    gitops_work_dir: Path | None = Field(
        None, description="Where clones of the GitOps repo live (one per incident). Default: "
        "`OPSGRAPH_DATA_DIR/gitops`.")
    git_author_name: str = Field("opsgraph", description="Author of the commits opsgraph makes.")
    git_author_email: str = Field("opsgraph@localhost", description="Author e-mail of those commits.")
    github_repo: str | None = Field(
        None, pattern=r"^[\w.-]+/[\w.-]+$", description="`owner/name` of the GitOps repo on GitHub, for pull "
        "requests. With no token or repo the branch is pushed and a compare URL recorded.")
    github_web_url: str = Field("https://github.com", description="GitHub web base, for compare URLs.")
    approvers: str = Field(
        "", description="Comma-separated identities allowed to approve, reject or edit a change. "
        "Empty: any caller holding the API token may decide (each decision names its approver).")
    approval_ttl_seconds: float = Field(
        8 * 3600, gt=0, description="A pending approval expires after this long; the incident then waits "
        "for a person.")
    approval_sweep_seconds: float = Field(
        60.0, ge=0, description="How often pending approvals past their expiry are handed to a person "
        "(status `awaiting_human`); safe to run on every replica. 0 turns the sweep off (expiry is then only "
        "noticed when someone decides).")
    replan_attempts: int = Field(
        2, ge=0, le=5, description="With a model configured: how many times a planned change that fails its "
        "checks (schema, policy, dry run) is sent back to the model for corrected values before the incident "
        "goes to a person. 0: never.")
    dry_run: bool = Field(
        False, description="Validate each planned change with a server-side dry run (`dryRun=All` apply) "
        "against the incident's cluster before asking for approval; a rejection is fed back to the planner. "
        "Needs `patch` permission on the workload kinds, which the shipped read-only RBAC does not grant "
        "(without it the dry run is skipped with a warning).")
    kubernetes_version: str = Field("1.31", description="Schema version changed manifests are validated against.")
    direct_actions: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated `cluster/namespace` entries (`*` wildcards, e.g. "
        "`prod/web,staging/*`) where an approved plan may restart or scale a workload directly instead of "
        "opening a pull request. Empty (the default): direct actions are off everywhere.")
    # --- chat API (issue 12) --------------------------------------------------------------------
    chat_max_body_bytes: int = Field(
        256 * 1024, ge=1024, description="Largest request body the thread and run endpoints accept (a chat "
        "turn, a pasted manifest); larger ones are refused with 413 before anything is stored.")
    chat_repair_attempts: int = Field(
        3, ge=0, le=10, description="With a model configured: how many rounds the YAML agent may ask the model "
        "to correct a manifest that fails its schema or lint checks before it reports the remaining problems.")

    # --- cluster -------------------------------------------------------------------------------
    kubeconfig: Path | None = Field(
        None,
        validation_alias=_env("kubeconfig", "KUBECONFIG"),
        description="Kubeconfig for the default cluster. Unset: in-cluster credentials when running "
        "in a pod.",
    )
    clusters_file: Path | None = Field(
        None, description="`clusters.yaml` mapping cluster ids to kubeconfig/context (multi-cluster)."
    )
    prometheus_url: str | None = Field(None, description="Prometheus base URL for the query tool.")
    registry_mirrors: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated `host=URL` entries telling the image-tag tool where a "
        "registry answers (`docker.io=https://mirror.example.com`, `*=...` for every host). Unset: each registry "
        "itself (`https://registry-1.docker.io` for Docker Hub). Tags are listed anonymously, so private "
        "repositories answer 401 and their fixes go to a person.")

    # --- integrations --------------------------------------------------------------------------
    # Slack ChatOps and HumanHelp (issue 11): see the README's "Slack" section for the app manifest.
    slack_bot_token: SecretStr | None = Field(
        None, validation_alias=_env("slack_bot_token", "SLACK_BOT_TOKEN"),
        description="Slack bot token (`xoxb-...`). Set with `SLACK_CHANNEL`: incident cards are posted and "
        "updated in Slack, and its buttons decide approvals. Unset: the HTTP API only.")
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=_env("slack_signing_secret", "SLACK_SIGNING_SECRET"),
        description="Slack signing secret: every request to `/slack/*` must carry its signature (HTTP mode).")
    slack_channel: str | None = Field(
        None, validation_alias=_env("slack_channel", "SLACK_CHANNEL"),
        description="Channel id for incident cards when no `OPSGRAPH_SLACK_ROUTES` rule matches.")
    slack_mode: Literal["http", "socket"] = Field(
        "http", description="`http`: Slack calls `POST /slack/interactions` and `/slack/commands`; `socket`: "
        "opsgraph connects out over Socket Mode (no public endpoint; needs `SLACK_APP_TOKEN`).")
    slack_app_token: SecretStr | None = Field(
        None, validation_alias=_env("slack_app_token", "SLACK_APP_TOKEN"),
        description="Slack app-level token (`xapp-...`, scope `connections:write`) for Socket Mode.")
    slack_api_url: str = Field(
        "https://slack.com/api/", description="Slack Web API base URL (tests point it at a local stand-in).")
    slack_routes: str = Field(
        "", description="Channel routing, first match wins: `;`-separated `key=value>CHANNEL` rules, keys "
        "`cluster`, `namespace` (fnmatch `*`) and `priority` (this priority or more urgent), e.g. "
        "`cluster=prod>C0PROD;priority=1>C0PAGE`. No match: `SLACK_CHANNEL`.")
    slack_approvers: str = Field(
        "", description="Comma-separated Slack user ids (`U…`) and user group ids (`S…`, members looked up with "
        "`usergroups.users.list`, cached 60 s) allowed to approve, reject, edit or reply from Slack. Empty: anyone "
        "who can click the card's buttons.")
    slack_outbox_seconds: float = Field(
        1.0, gt=0, description="How often the Slack outbox is drained when no call is waiting (failed calls are "
        "retried from it, honouring `Retry-After`).")
    help_reminder_seconds: float = Field(
        1800.0, gt=0, description="A question to a person (HumanHelp) unanswered this long gets one reminder.")
    help_timeout_seconds: float = Field(
        4 * 3600.0, gt=0, description="A question unanswered this long times out: the incident stays "
        "`awaiting_human` (needs a person) with everything kept, and a late reply still resumes it.")
    approver_tokens: str = Field(
        "", description="Per-approver tokens for the HTTP API, hashed: comma-separated `NAME:SHA256HEX` (make one "
        "with `opsgraph approver-token NAME`). Set: a decision or help reply is made by the owner of the token in "
        "`X-Approver-Token`, not by a name in the body. Empty: the body names the approver (`OPSGRAPH_APPROVERS`).")
    help_sweep_seconds: float = Field(
        60.0, ge=0, description="How often help reminders and timeouts are checked; 0 turns the sweep off.")
    github_token: SecretStr | None = Field(
        None,
        validation_alias=_env("github_token", "GITHUB_TOKEN"),
        description="Token that opens pull requests. Unset: the branch is pushed and a compare URL recorded.",
    )
    github_api_url: str = Field(
        "https://api.github.com", description="GitHub REST API base (GitHub Enterprise: `https://HOST/api/v3`)."
    )
    github_webhook_secret: SecretStr | None = Field(
        None, description="Secret of the GitHub webhook (pull_request events) that `X-Hub-Signature-256` is "
        "checked against. Unset: `/webhooks/github` answers 503 and merges are found by polling instead."
    )
    pr_poll_seconds: float = Field(
        60.0, ge=0, description="Without a webhook secret, how often open pull requests of remediating "
        "incidents are asked for (needs a GitHub token and repo); 0 turns polling off."
    )

    # --- verification after merge --------------------------------------------------------------
    verify_window_seconds: float = Field(
        600.0, gt=0, description="How long a merged fix has to make its workload healthy; still failing at "
        "the end, the incident is reopened with a proposed revert. Must be shorter than "
        "`OPSGRAPH_WORK_DEADLINE_SECONDS` (the verification is one work item)."
    )
    verify_poll_seconds: float = Field(
        30.0, gt=0, description="How often the workload is looked at during the verification window."
    )
    verify_workers: int = Field(
        2, ge=1, description="Async workers per process that only watch merged fixes. A watch sleeps between "
        "looks for its whole window, so it has its own workers and is outside "
        "`OPSGRAPH_WORKER_CLUSTER_CONCURRENCY`: diagnosis never waits behind a verification. None start "
        "when `OPSGRAPH_WORKERS` is 0."
    )
    verify_healthy_checks: int = Field(
        2, ge=1, description="Consecutive healthy looks that count as verified (one look can catch a "
        "crash-looping pod between two crashes)."
    )
    tavily_api_key: SecretStr | None = Field(
        None,
        validation_alias=_env("tavily_api_key", "TAVILY_API_KEY"),
        description="Tavily key; enables the web search tool.",
    )
    # --- knowledge base (issue 13) ---
    kb_starter_pack: bool = Field(
        True, description="Ingest the shipped runbooks (one per domain skill) at start-up. Idempotent: "
        "unchanged runbooks are skipped by content hash."
    )
    kb_max_file_bytes: int = Field(
        1_048_576, ge=1, description="Largest Markdown file `opsgraph kb ingest` accepts; larger files are "
        "refused whole."
    )
    embeddings_model: str | None = Field(
        None, description="Embedding model of an OpenAI-compatible `/embeddings` endpoint. Unset: the static "
        "model shipped in the package embeds offline (distilled from all-MiniLM-L6-v2; nothing is downloaded)."
    )
    embeddings_base_url: str | None = Field(
        None, description="Endpoint for `OPSGRAPH_EMBEDDINGS_MODEL`. Unset: `OPENAI_BASE_URL`, else OpenAI."
    )
    embeddings_api_key: SecretStr | None = Field(
        None, description="Key for the embeddings endpoint. Unset: `OPENAI_API_KEY`."
    )

    @field_validator("embeddings_base_url")
    @classmethod
    def _embeddings_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https://, got {value!r}")
        return value.rstrip("/") if value else value

    @field_validator("openai_base_url", "prometheus_url", "github_api_url", "github_web_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https://, got {value!r}")
        return value.rstrip("/") if value else value

    @field_validator("k8s_events_clusters", "k8s_events_namespaces", "direct_actions", "registry_mirrors",
                     mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("direct_actions")
    @classmethod
    def _cluster_namespace_entries(cls, value: list[str]) -> list[str]:
        bad = [entry for entry in value if entry.count("/") != 1 or "" in entry.split("/")]
        if bad:
            raise ValueError(f"each entry must be cluster/namespace (wildcards allowed), got {', '.join(bad)}")
        return value

    @field_validator("registry_mirrors")
    @classmethod
    def _mirror_entries(cls, value: list[str]) -> list[str]:
        bad = [entry for entry in value if "=" not in entry
               or not entry.split("=", 1)[1].startswith(("http://", "https://")) or not entry.split("=", 1)[0]]
        if bad:
            raise ValueError(f"each entry must be host=http(s)://URL, got {', '.join(bad)}")
        return value

    @property
    def registry_mirror_pairs(self) -> tuple[tuple[str, str], ...]:
        return tuple((entry.split("=", 1)[0], entry.split("=", 1)[1]) for entry in self.registry_mirrors)

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// or postgres://")
        return value

    @model_validator(mode="after")
    def _verification_fits_its_work_item(self) -> Settings:
        if self.verify_window_seconds >= self.work_deadline_seconds:
            raise ValueError("OPSGRAPH_VERIFY_WINDOW_SECONDS must be shorter than OPSGRAPH_WORK_DEADLINE_SECONDS: "
                             "the verification runs as one work item and would be given up before it ends")
        return self

    @model_validator(mode="after")
    def _pool_bounds(self) -> Settings:
        if self.db_pool_min_size > self.db_pool_max_size:
            raise ValueError("OPSGRAPH_DB_POOL_MIN_SIZE must not exceed OPSGRAPH_DB_POOL_MAX_SIZE")
        return self

    @property
    def approver_list(self) -> frozenset[str]:
        return frozenset(a.strip() for a in self.approvers.split(",") if a.strip())

    @property
    def slack_configured(self) -> bool:
        return self.slack_bot_token is not None and self.slack_channel is not None

    @property
    def slack_approver_list(self) -> frozenset[str]:
        return frozenset(a.strip() for a in self.slack_approvers.split(",") if a.strip())

    @property
    def model_configured(self) -> bool:
        return self.openai_api_key is not None or self.openai_base_url is not None

    def masked(self) -> dict[str, Any]:
        """The effective configuration with every secret replaced by a mask."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[name] = _mask_secret(name, value.get_secret_value())
            elif isinstance(value, Path):
                out[name] = str(value)
            else:
                out[name] = value
        return out


def _mask_secret(name: str, secret: str) -> str:
    if name == "database_url":
        # Show where the database is, never the password.
        parts = urlsplit(secret)
        if parts.password is None:
            return secret
        netloc = f"{parts.username or ''}:********@{parts.hostname or ''}"
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc))
    return "********" if secret else ""


def env_vars_for(field: str) -> list[str]:
    """The environment variables a settings field is read from, conventional name last."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [ENV_PREFIX + field.upper()]


def env_var_for(field: str) -> str:
    """The name to document for a field: the conventional one where it has one."""
    return env_vars_for(field)[-1]


def _field_for_location(location: str) -> str | None:
    """Map a validation error location (field name or alias) back to the field."""
    for name in Settings.model_fields:
        if location == name or location in env_vars_for(name):
            return name
    return None


def _variable_in_error(field: str) -> str:
    """The variable the bad value came from: the one actually set, else the documented one."""
    for name in env_vars_for(field):
        if name in os.environ:
            return name
    return env_var_for(field)


class ConfigurationError(Exception):
    """A setting has a bad value; the message names the variable in one line."""


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, turning validation errors into one clear line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = err.get("loc") or ("",)
            field = _field_for_location(str(loc[0]))
            name = _variable_in_error(field) if field else "configuration"
            value = err.get("input")
            shown = "" if field in _SECRET_FIELDS or field is None else f" (got {value!r})"
            problems.append(f"{name}: {err['msg']}{shown}")
        raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from None


_SECRET_FIELDS = {
    name for name, info in Settings.model_fields.items() if "SecretStr" in str(info.annotation)
}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings; tests build their own with `load_settings(...)` instead."""
    return load_settings()


def settings_table_markdown() -> str:
    """The README's configuration table, generated from the field descriptions."""
    rows = ["| Variable | Default | Description |", "| --- | --- | --- |"]
    for name, info in Settings.model_fields.items():
        default = "" if info.default_factory is not None or info.default is None else f"`{info.default}`"
        if name == "data_dir":
            default = "see description"
        rows.append(f"| `{env_var_for(name)}` | {default} | {info.description} |")
    return "\n".join(rows)
