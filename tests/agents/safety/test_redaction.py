"""Redaction: every kind of secret is caught wherever it sits, and ordinary text survives untouched."""

from __future__ import annotations

import time

import pytest

from agents.safety.redaction import redact, redact_obj

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq0secretkeymaterial\nAAAABBBB\n-----END RSA PRIVATE KEY-----"

# (id, text with the secret in context, the secret that must disappear)
PLANTED = [
    ("password in log", "2024-05-01 ERROR login failed password=Hunt3r2Secret!", "Hunt3r2Secret!"),
    ("password json", '{"user": "app", "password": "Js0nPassw0rd"}', "Js0nPassw0rd"),
    ("password yaml", "db:\n  password: YamlPassw0rd\n", "YamlPassw0rd"),
    ("env value", "DB_PASSWORD=EnvPassw0rd123", "EnvPassw0rd123"),
    ("numeric password", "MYSQL_ROOT_PASSWORD=123456", "123456"),
    ("token key", "api_token: tok_9f8e7d6c5b4a3", "tok_9f8e7d6c5b4a3"),
    ("bearer header", "GET /v1 Authorization: Bearer abc.def-ghi_jkl123456", "abc.def-ghi_jkl123456"),
    ("basic header", "authorization=Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ("bearer in event", 'Failed to pull: bearer sk9LmNoPqRsTuVwXyZ012345 rejected', "sk9LmNoPqRsTuVwXyZ012345"),
    ("jwt alone", f"session {JWT} expired", JWT),
    ("private key", f"tls.key: |\n{PEM}\n", "secretkeymaterial"),
    ("private key cut off", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA", "b3BlbnNzaC1rZXktdjEAAAAA"),
    ("aws access key", "using AKIAIOSFODNN7EXAMPLE for s3", "AKIAIOSFODNN7EXAMPLE"),
    ("aws secret key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG"),
    ("gcp api key", "key=AIzaSyA1234567890abcdefghijklmnopqrstu in url", "AIzaSyA1234567890abcdefghijklmnopqrstu"),
    ("gcp oauth", "token ya29.a0AfH6SMBexampleexampleexample", "ya29.a0AfH6SMBexampleexampleexample"),
    ("github token", "GIT: ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
    ("slack token", "SLACK=xoxb-1234-5678-abcdefghijkl", "xoxb-1234-5678-abcdefghijkl"),
    ("openai key", "OPENAI sk-proj-abcdefghijklmnopqrstuvwx", "sk-proj-abcdefghijklmnopqrstuvwx"),
    ("postgres url", "connecting to postgres://app:PgPassw0rd@db:5432/shop", "PgPassw0rd"),
    ("mongodb url", 'uri "mongodb+srv://root:M0ngoPass@cluster0.example.net/test"', "M0ngoPass"),
    ("redis url", "REDIS_URL=redis://default:R3disPass@redis:6379/0", "R3disPass"),
    ("secret data b64", "data:\n  password: c3VwZXJzZWNyZXRwYXNzd29yZA==\n", "c3VwZXJzZWNyZXRwYXNzd29yZA=="),
    ("dockerconfig b64", ".dockerconfigjson: eyJhdXRocyI6eyJyZWdpc3RyeS5leGFtcGxlLmNvbSI6eyJhdXRoIjoiZFhObGNqcHdZWE56In19fQ==",
     "eyJhdXRocyI6eyJyZWdpc3RyeS5leGFtcGxlLmNvbSI6"),
    ("annotation", "Annotations: debug=client_secret: s3cr3t-client-value", "s3cr3t-client-value"),
    ("azure account key", "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4;", "Zm9vYmFyYmF6"),
]

# Text that looks a little like a secret but is what a diagnosis needs; it must come back unchanged.
INNOCENT = [
    ("image digest", "docker.io/polinux/stress@sha256:d6fef06d2dad0bf49d70936380263dc7bb0b7c24ff0164f044f168c63028dad2"),
    ("container id", "containerd://bb90563ff7edddfe0ee8a90468715691c8a6b65e2b78312904c49d9d851d0255"),
    ("uid", "uid: bd83fc8b-28b4-5aa1-b7d1-f0c43adcfde6"),
    ("resource version", "resourceVersion: '30'"),
    ("quantities", "Limits: memory=100Mi, cpu=500m; Requests: memory=64Mi ephemeral-storage=1Gi"),
    ("short b64-like words", "Kubernetes dGVzdA Running nginx ReplicaSet abc123XYZ"),
    ("secret not found", 'Error: secret "database-secret" not found'),
    ("mount event", 'MountVolume.SetUp failed for volume "secret-vol" : secret "x" not found'),
    ("env from secret", "API_TOKEN:  <set to the key 'API_TOKEN' in secret 'api-credentials'>"),
    ("secretKeyRef yaml", "valueFrom:\n  secretKeyRef:\n    name: db-credentials\n    key: password"),
    ("secret name", "secretName: tls-cert"),
    ("token counts", "max_tokens=100 tokens used: 2048"),
    ("sa token path", "/var/run/secrets/kubernetes.io/serviceaccount from kube-api-access-tzfmq (ro)"),
    ("pod name", "memory-hog-5cdd5d989-6pfx8 0/1 CrashLoopBackOff 10"),
    ("oom message", "Last State: Terminated Reason: OOMKilled Exit Code: 137"),
    ("url without credentials", "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping"),
    ("java path", "at com.example.payments.PaymentServiceImpl2.charge(PaymentServiceImpl2.java:42)"),
    ("redacted already", "password=[REDACTED]"),
]


@pytest.mark.parametrize(("text", "secret"), [(t, s) for _, t, s in PLANTED], ids=[i for i, _, _ in PLANTED])
def test_secret_is_redacted(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out
    assert "[REDACTED" in out
    assert redact(out) == out  # idempotent


@pytest.mark.parametrize("text", [t for _, t in INNOCENT], ids=[i for i, _ in INNOCENT])
def test_ordinary_text_survives(text: str) -> None:
    assert redact(text) == text


def test_redact_obj_uses_keys_env_entries_and_secret_kind() -> None:
    pod = {
        "metadata": {"annotations": {"debug": "Authorization: Bearer abcdefghijklmnop"}, "name": "api"},
        "spec": {"containers": [{"name": "api", "env": [
            {"name": "DB_PASSWORD", "value": "plain-looking"},
            {"name": "LOG_LEVEL", "value": "debug"},
            {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "API_TOKEN"}}}]}],
            "volumes": [{"name": "tls", "secret": {"secretName": "tls-cert"}}]},
        "apiKey": "k-123456", "tokenExpirationSeconds": 3600, "automountServiceAccountToken": False,
    }
    out = redact_obj(pod)
    env = out["spec"]["containers"][0]["env"]
    assert env[0] == {"name": "DB_PASSWORD", "value": "[REDACTED]"}
    assert env[1] == {"name": "LOG_LEVEL", "value": "debug"}
    assert env[2]["valueFrom"] == {"secretKeyRef": {"name": "creds", "key": "API_TOKEN"}}
    assert out["spec"]["volumes"][0]["secret"] == {"secretName": "tls-cert"}
    assert out["metadata"]["annotations"]["debug"] == "Authorization: Bearer [REDACTED]"
    assert out["apiKey"] == "[REDACTED]"
    assert out["tokenExpirationSeconds"] == 3600 and out["automountServiceAccountToken"] is False
    assert pod["spec"]["containers"][0]["env"][0]["value"] == "plain-looking"  # the input is not modified


def test_secret_objects_keep_keys_and_lose_every_value() -> None:
    secret = {"kind": "Secret", "data": {"username": "YWRtaW4=", "note": "aGk="}, "stringData": {"x": "y"}}
    assert redact_obj(secret) == {"kind": "Secret", "data": {"username": "[REDACTED]", "note": "[REDACTED]"},
                                  "stringData": {"x": "[REDACTED]"}}


@pytest.mark.parametrize("text", ["x" * 200_000, "a=" * 100_000, "secret_" * 30_000, "Ab1/" * 50_000,
                                  "postgres://" * 20_000, "-----BEGIN PRIVATE KEY-----" * 5_000],
                         ids=["word", "equals", "keywords", "base64ish", "urls", "pem-headers"])
def test_adversarial_input_is_redacted_in_linear_time(text: str) -> None:
    started = time.perf_counter()
    redact(text)
    assert time.perf_counter() - started < 1.0
