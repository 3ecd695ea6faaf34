"""Table tests for the checks that read a pod: OOM, bad command, app errors, config, images, probes, security."""

from __future__ import annotations

from typing import Any

import pytest

from agents.rules.facts import Facts
from tests.agents.rules.builders import Case, container, event, facts, log, obj, pod, status
from tests.agents.rules.check_runner import run_case


def listed(seen: Facts, kind: str, names: list[str]) -> Facts:
    """The facts plus what a not-found answer listed: the names of `kind` that exist in the namespace."""
    seen.listed[(kind, "shop")] = (names, "c-listed")
    return seen


OOM_LAST = {"reason": "OOMKilled", "exitCode": 137}
STRESS = container("hog", "polinux/stress", command=["stress"], args=["--vm", "1", "--vm-bytes", "200M"],
                   resources={"limits": {"memory": "100Mi"}})
CRASHLOOP = {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}

def revisions(*containers: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The pod's own ReplicaSet (revision 2) and an earlier one (revision 1) that ran `containers`."""
    def rs(name: str, revision: int, specs: list[dict[str, Any]]) -> dict[str, Any]:
        return obj("ReplicaSet", name, meta={"annotations": {"deployment.kubernetes.io/revision": str(revision)}},
                   spec={"template": {"spec": {"containers": specs}}})
    return [rs("web-7f9c", 2, []), rs("web-5c4d", 1, [{"name": n, **spec} for n, spec in containers])]


CASES = [
    Case("oom-usage-from-args", "oom_killed",
         facts(pod(containers=[STRESS], statuses=[status("hog", waiting=CRASHLOOP, last=OOM_LAST, restarts=9)])),
         "oom_killed", "Pod/web-7f9c-abcde", "uses ~200M against a 100Mi limit",
         ("spec.containers[name=hog].resources.limits.memory", "256Mi")),
    Case("oom-usage-from-metrics", "oom_killed",
         facts(pod(containers=[container("api", resources={"limits": {"memory": "128Mi"}})],
                   statuses=[status("api", last=OOM_LAST)]),
               obj("PodMetrics", "web-7f9c-abcde", containers=[{"name": "api", "usage": {"memory": "300Mi"}}])),
         "oom_killed", says="uses ~300Mi against a 128Mi limit", fix=("spec.containers[name=api].resources.limits.memory", "384Mi")),
    Case("oom-usage-from-own-log", "oom_killed",
         facts(pod(containers=[container("api", resources={"limits": {"memory": "128Mi"}})],
                   statuses=[status("api", last=OOM_LAST)]),
               logs=[log("cache warmup: allocating 400MiB for the index", container_name="api")]),
         # a logged amount is a hint, not a measurement: a candidate for a person (128Mi + 400MiB, +25 %), no value
         "oom_killed", says="while loading ~400MiB", fix=("spec.containers[name=api].resources.limits.memory", None)),
    Case("oom-usage-from-cache-log-line", "oom_killed",
         facts(pod(containers=[container("api", resources={"limits": {"memory": "128Mi"}})],
                   statuses=[status("api", last=OOM_LAST)]),
               logs=[log("[INFO] warming product catalogue cache (48213 items, ~210 MB)", container_name="api")]),
         "oom_killed", says="while loading ~210 MB", fix=("spec.containers[name=api].resources.limits.memory", None)),
    Case("oom-usage-unknown-needs-a-human", "oom_killed",
         facts(pod(containers=[container("api", resources={"limits": {"memory": "128Mi"}})],
                   statuses=[status("api", last={"exitCode": 137})])),
         "oom_killed", says="exceeds its 128Mi memory limit", fix=("spec.containers[name=api].resources.limits.memory", None)),
    Case("oom-not-for-exit-1", "oom_killed",
         facts(pod(statuses=[status(last={"reason": "Error", "exitCode": 1})]))),
    Case("bad-command-start-error", "bad_command",
         facts(pod(containers=[container("catalog", "busybox:1.36", command=["wge", "-qO-", "http://x"])],
                   statuses=[status("catalog", waiting=CRASHLOOP, last={
                       "reason": "StartError", "exitCode": 128,
                       "message": 'exec: "wge": executable file not found in $PATH: unknown'})])),
         # nothing in the cluster lists the image's executables: `wget` is only a candidate
         "bad_command", says="names `wge`", fix=("spec.containers[name=catalog].command", None)),
    Case("bad-command-previous-revision-ran", "bad_command",
         facts(pod(containers=[container("catalog", "busybox:1.36", command=["wge", "-qO-", "http://x"])],
                   statuses=[status("catalog", waiting=CRASHLOOP, last={
                       "reason": "StartError", "exitCode": 128,
                       "message": 'exec: "wge": executable file not found in $PATH: unknown'})]),
               *revisions(("catalog", {"image": "busybox:1.36", "command": ["wget", "-qO-", "http://x"]}))),
         "bad_command", says="names `wge`",
         fix=("spec.containers[name=catalog].command", ["wget", "-qO-", "http://x"])),
    Case("bad-command-shell-127", "bad_command",
         facts(pod(containers=[container("app", args=["python3", "app.py"])],
                   statuses=[status("app", last={"reason": "Error", "exitCode": 127})]),
               logs=[log("/bin/sh: 1: python3: not found", container_name="app")]),
         "bad_command", says="`python3`", fix=("spec.containers[name=app].args", None)),
    Case("bad-command-not-for-app-error", "bad_command",
         facts(pod(statuses=[status(last={"reason": "Error", "exitCode": 1})]), logs=[log("panic: boom")])),
    Case("app-error-quotes-last-error", "app_error_exit",
         facts(pod(statuses=[status(waiting=CRASHLOOP, last={"reason": "Error", "exitCode": 2})]),
               logs=[log("starting\nERROR cannot connect to db\npanic: nil pointer dereference")]),
         "crash_loop_app_error", says="its last error: panic: nil pointer dereference"),
    Case("app-error-suggests-rollback", "app_error_exit",
         facts(pod(containers=[container("web", "shop/web:2.0")], statuses=[status(waiting=CRASHLOOP, last={"exitCode": 1})]),
               obj("ReplicaSet", "web-7f9c", meta={"annotations": {"deployment.kubernetes.io/revision": "2"}}),
               obj("ReplicaSet", "web-5d4b", meta={"annotations": {"deployment.kubernetes.io/revision": "1"}},
                   spec={"template": {"spec": {"containers": [container("web", "shop/web:1.9")]}}}),
               logs=[log("fatal: schema v3 unsupported")]),
         "crash_loop_app_error", fix=("spec.containers[name=web].image", "shop/web:1.9")),
    Case("app-error-not-for-oom", "app_error_exit", facts(pod(statuses=[status(waiting=CRASHLOOP, last=OOM_LAST)]))),
    Case("missing-env-var-from-log", "missing_env_var",
         facts(pod(containers=[container("worker", env=[{"name": "LOG_LEVEL"}])], statuses=[status("worker", last={"exitCode": 1})]),
               logs=[log("ERROR Environment variable DEPLOY_ENV is undefined\nrefusing to start (production|staging)",
                         container_name="worker")]),
         # the message's (production|staging) are candidates for the owner, not a value
         "missing_config", says="requires environment variable DEPLOY_ENV",
         fix=("spec.containers[name=worker].env[name=DEPLOY_ENV].value", None)),
    Case("missing-env-var-previous-revision-set-it", "missing_env_var",
         facts(pod(containers=[container("worker", env=[{"name": "LOG_LEVEL"}])], statuses=[status("worker", last={"exitCode": 1})]),
               *revisions(("worker", {"image": "nginx:1.27", "env": [{"name": "LOG_LEVEL"},
                                                                     {"name": "DEPLOY_ENV", "value": "staging"}]})),
               logs=[log("ERROR Environment variable DEPLOY_ENV is undefined\nrefusing to start (production|staging)",
                         container_name="worker")]),
         "missing_config", says="requires environment variable DEPLOY_ENV",
         fix=("spec.containers[name=worker].env[name=DEPLOY_ENV]", {"name": "DEPLOY_ENV", "value": "staging"})),
    Case("missing-env-var-keyerror", "missing_env_var",
         facts(pod(statuses=[status(last={"exitCode": 1})]), logs=[log("KeyError: 'DATABASE_URL'")]),
         "missing_config", says="DATABASE_URL", fix=("spec.containers[name=web].env[name=DATABASE_URL].value", None)),
    Case("missing-env-var-already-set", "missing_env_var",
         facts(pod(containers=[container(env=[{"name": "DEPLOY_ENV"}])]),
               logs=[log("Environment variable DEPLOY_ENV is undefined")])),
    Case("secret-ref-missing", "config_ref_missing",
         facts(pod(containers=[container("api", env=[{"name": "DB_PASSWORD", "valueFrom": {
             "secretKeyRef": {"name": "database-secret", "key": "password"}}}])],
             phase="Pending", statuses=[status("api", waiting={"reason": "CreateContainerConfigError",
                                                               "message": 'secret "database-secret" not found'})]),
             obj("Secret", "db-secret")),
         "missing_config", says="Secret database-secret, which does not exist",
         fix=("spec.containers[name=api].env[name=DB_PASSWORD].valueFrom.secretKeyRef.name", "db-secret")),
    Case("secret-ref-points-at-the-existing-secret-with-the-key", "config_ref_missing",
         listed(facts(pod(containers=[container("api", env=[{"name": "DB_PASSWORD", "valueFrom": {
             "secretKeyRef": {"name": "database-secret", "key": "password"}}}])],
             statuses=[status("api", waiting={"reason": "CreateContainerConfigError",
                                              "message": 'secret "database-secret" not found'})]),
             obj("Secret", "database-secrets", data={"token": ""}), obj("Secret", "db-secret", data={"password": ""})),
             "Secret", ["database-secrets", "db-secret"]),
         "missing_config", says="Secret db-secret exists in shop and has key password",
         fix=("spec.containers[name=api].env[name=DB_PASSWORD].valueFrom.secretKeyRef.name", "db-secret")),
    Case("secret-ref-not-pointed-at-a-secret-without-the-key", "config_ref_missing",
         listed(facts(pod(containers=[container("api", env=[{"name": "DB_PASSWORD", "valueFrom": {
             "secretKeyRef": {"name": "database-secret", "key": "password"}}}])],
             statuses=[status("api", waiting={"reason": "CreateContainerConfigError",
                                              "message": 'secret "database-secret" not found'})]),
             obj("Secret", "database-secrets", data={"token": ""})), "Secret", ["database-secrets"]),
         "missing_config", fix=("spec.containers[name=api].env[name=DB_PASSWORD].valueFrom.secretKeyRef.name", None)),
    Case("configmap-volume-points-at-the-listed-configmap", "config_ref_missing",
         listed(facts(pod(phase="Pending", volumes=[{"name": "config", "configMap": {"name": "app-config"}}]),
                      event("FailedMount", 'MountVolume.SetUp failed for volume "config" : configmap "app-config" not found')),
                "ConfigMap", ["app-configuration", "kube-root-ca.crt"]),
         "missing_config", says="ConfigMap app-configuration exists",
         fix=("spec.volumes[name=config].configMap.name", "app-configuration")),
    # Two existing names equally close to the missing one: the cluster cannot say which was meant.
    Case("configmap-volume-not-pointed-at-one-of-two-equally-close-names", "config_ref_missing",
         listed(facts(pod(phase="Pending", volumes=[{"name": "config", "configMap": {"name": "app-config"}}]),
                      event("FailedMount", 'MountVolume.SetUp failed for volume "config" : configmap "app-config" not found')),
                "ConfigMap", ["app-config-v1", "app-config-v2", "kube-root-ca.crt"]),
         "missing_config", says="about equally likely meant: app-config-v1, app-config-v2",
         fix=("spec.volumes[name=config].configMap.name", None)),
    Case("configmap-volume-not-pointed-at-an-unrelated-name", "config_ref_missing",
         listed(facts(pod(phase="Pending", volumes=[{"name": "config", "configMap": {"name": "app-config"}}]),
                      event("FailedMount", 'MountVolume.SetUp failed for volume "config" : configmap "app-config" not found')),
                "ConfigMap", ["nginx-vhosts", "kube-root-ca.crt"]),
         "missing_config", fix=("spec.volumes[name=config].configMap.name", None)),
    Case("configmap-volume-missing", "config_ref_missing",
         facts(pod(phase="Pending", volumes=[{"name": "config", "configMap": {"name": "app-config"}}]),
               event("FailedMount", 'MountVolume.SetUp failed for volume "config" : configmap "app-config" not found')),
         "missing_config", says="ConfigMap app-config", fix=("spec.volumes[name=config].configMap.name", None)),
    Case("secret-key-missing", "config_ref_missing",
         facts(pod(containers=[container("api", env=[{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "tok"}}}])],
                   statuses=[status("api", waiting={"reason": "CreateContainerConfigError",
                                                    "message": "couldn't find key tok in Secret shop/creds"})])),
         "missing_config", says="key tok of Secret creds"),
    Case("config-ref-nothing-missing", "config_ref_missing", facts(pod(statuses=[status(ready=True)]))),
    Case("invalid-json-in-configmap", "invalid_config_file",
         facts(pod(containers=[container("render", volumeMounts=[{"name": "cfg", "mountPath": "/config"}])],
                   volumes=[{"name": "cfg", "configMap": {"name": "rec-config"}}]),
               logs=[log("Loading configuration from /config/config.json\njson.decoder.JSONDecodeError: Expecting "
                         "property name enclosed in double quotes: line 5 column 1", container_name="render")]),
         "invalid_config", says="ConfigMap rec-config, key config.json", fix=('data["config.json"]', None)),
    Case("invalid-config-not-for-plain-errors", "invalid_config_file",
         facts(pod(), logs=[log("ERROR upstream timed out")])),
    Case("image-tag-not-found", "image_tag_not_found",
         facts(pod(containers=[container("nginx", "nginx:invalid-tag")], phase="Pending",
                   statuses=[status("nginx", waiting={"reason": "ImagePullBackOff"})]),
               event("Failed", 'Failed to pull image "nginx:invalid-tag": rpc error: code = NotFound desc = failed to '
                               'resolve reference "docker.io/library/nginx:invalid-tag": not found')),
         "image_pull", says="nginx:invalid-tag of container nginx does not exist", fix=("spec.containers[name=nginx].image", None)),
    Case("image-tag-not-for-auth", "image_tag_not_found",
         facts(pod(statuses=[status(waiting={"reason": "ErrImagePull"})]),
               event("Failed", 'Failed to pull image "r.example.com/a:1": pull access denied, repository does not '
                               "exist or may require authorization"))),
    Case("image-pull-secret-missing", "image_pull_auth",
         facts(pod(statuses=[status(waiting={"reason": "ImagePullBackOff"})], imagePullSecrets=[{"name": "regcred"}]),
               event("FailedToRetrieveImagePullSecret", "Unable to retrieve some image pull secrets (regcred); "
                                                         "attempting to pull the image may not succeed.")),
         "image_pull", says="pull secret(s) regcred", fix=("spec.imagePullSecrets", None)),
    Case("image-pull-secret-replaced-by-the-existing-pull-secret", "image_pull_auth",
         listed(facts(pod(statuses=[status(waiting={"reason": "ImagePullBackOff"})], imagePullSecrets=[{"name": "regcred"}]),
                      event("FailedToRetrieveImagePullSecret", "Unable to retrieve some image pull secrets (regcred); "
                                                                "attempting to pull the image may not succeed."),
                      event("Failed", 'Failed to pull image "r.example.com/a:1": pull access denied, authorization failed'),
                      obj("Secret", "registry-credentials", type="kubernetes.io/dockerconfigjson"),
                      obj("Secret", "regcred-old", type="Opaque")),
                "Secret", ["regcred-old", "registry-credentials"]),
         "image_pull", says="registry-credentials in shop is a registry pull secret",
         fix=("spec.imagePullSecrets", [{"name": "registry-credentials"}])),
    Case("image-pull-secret-not-replaced-by-an-opaque-secret", "image_pull_auth",
         listed(facts(pod(statuses=[status(waiting={"reason": "ImagePullBackOff"})]),
                      event("FailedToRetrieveImagePullSecret", "Unable to retrieve some image pull secrets (regcred); "
                                                                "attempting to pull the image may not succeed."),
                      obj("Secret", "regcred-old", type="Opaque")),
                "Secret", ["regcred-old"]),
         "image_pull", says="pull secret(s) regcred", fix=("spec.imagePullSecrets", None)),
    Case("image-pull-other", "image_pull_other",
         facts(pod(statuses=[status(waiting={"reason": "InvalidImageName", "message": 'couldn\'t parse image "Bad::x"'})])),
         "image_pull", says="cannot be pulled"),
    Case("image-pull-not-for-running-pod", "image_pull_other", facts(pod(statuses=[status(ready=True)]))),
    Case("readiness-path-404", "probe_failing",
         facts(pod(containers=[container("webapp", readinessProbe={"httpGet": {"path": "/is_ready", "port": 80}})]),
               event("Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 404")),
         "probe_failure", says="readinessProbe path /is_ready answers HTTP 404",
         fix=("spec.containers[name=webapp].readinessProbe.httpGet.path", None)),
    Case("readiness-path-404-liveness-passes-elsewhere", "probe_failing",
         facts(pod(containers=[container("webapp", readinessProbe={"httpGet": {"path": "/is_ready", "port": 80}},
                                         livenessProbe={"httpGet": {"path": "/healthz", "port": 80}})]),
               event("Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 404")),
         "probe_failure", fix=("spec.containers[name=webapp].readinessProbe.httpGet.path", "/healthz")),
    Case("liveness-port-refused", "probe_failing",
         facts(pod(containers=[container("web-app", ports=[{"containerPort": 80}],
                                         livenessProbe={"httpGet": {"path": "/", "port": 8080}})]),
               event("Unhealthy", 'Liveness probe failed: Get "http://10.0.0.1:8080/": dial tcp 10.0.0.1:8080: '
                                  "connect: connection refused", field_path="spec.containers{web-app}")),
         "probe_failure", says="checks port 8080", fix=("spec.containers[name=web-app].livenessProbe.httpGet.port", 80)),
    # Only "it took longer than 1s" is observed, not how long: no timeout value is made up.
    Case("readiness-timeout-goes-to-a-person", "probe_failing",
         facts(pod(containers=[container("webapp", readinessProbe={"httpGet": {"path": "/ready", "port": 80}})]),
               event("Unhealthy", 'Readiness probe failed: Get "http://10.0.0.1:80/ready": context deadline exceeded '
                                  "(Client.Timeout exceeded while awaiting headers)")),
         "probe_failure", says="times out after 1s", fix=("spec.containers[name=webapp].readinessProbe.timeoutSeconds", None)),
    Case("probe-not-for-other-events", "probe_failing", facts(pod(), event("BackOff", "Back-off restarting"))),
    Case("run-as-non-root-with-root-image", "run_as_non_root",
         facts(pod(containers=[container("renderer", "acme/renderer:3")],
                   statuses=[status("renderer", waiting={"reason": "CreateContainerConfigError", "message":
                                                         "container has runAsNonRoot and image will run as root "
                                                         '(pod: "x", container: renderer)'})])),
         "security_context", says="sets runAsNonRoot, but image acme/renderer:3 runs as root",
         fix=("spec.containers[name=renderer].securityContext.runAsUser", None)),
    Case("run-as-non-root-not-for-missing-secret", "run_as_non_root",
         facts(pod(statuses=[status(waiting={"reason": "CreateContainerConfigError", "message": 'secret "x" not found'})]))),
]


def test_a_logged_amount_is_offered_to_a_person_as_a_candidate() -> None:
    from agents.rules.registry import checks

    case = next(c for c in CASES if c.id == "oom-usage-from-own-log")
    finding = checks()[case.check](case.facts)
    assert finding is not None and finding.escalate is not None
    assert "candidate limit 704Mi" in finding.escalate


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_pod_check(case: Case) -> None:
    run_case(case)


@pytest.mark.parametrize(("case_id", "escalates"), [
    ("image-tag-not-found", True),              # no earlier revision: the cluster shows no tag known to work
    ("invalid-json-in-configmap", True),        # the valid content is the author's
    ("oom-usage-unknown-needs-a-human", True),  # nothing measured: no guessed limit
    ("oom-usage-from-metrics", False),
    ("oom-usage-from-cache-log-line", True),     # a logged amount is a hint, not a measurement
    ("app-error-suggests-rollback", False),
])
def test_a_finding_without_an_evidence_backed_value_says_a_human_must_choose(case_id: str, escalates: bool) -> None:
    from agents.rules.registry import checks

    case = next(c for c in CASES if c.id == case_id)
    finding = checks()[case.check](case.facts)
    assert finding is not None
    assert bool(finding.escalate) is escalates, finding.escalate
