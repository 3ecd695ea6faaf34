# syntax=docker/dockerfile:1
# opsgraph service image: `docker build -t opsgraph .`, then `docker run -p 8080:8080 opsgraph`.
# Two stages so compilers, pip caches and sources stay out of the image that runs.
ARG PYTHON_IMAGE=python:3.11-slim

# --- build: install the project and its dependencies into a self-contained venv ------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# pyproject names README.md as the long description, so the build needs it too.
COPY pyproject.toml README.md ./
COPY app ./app
COPY graphs ./graphs
COPY agents ./agents
COPY prompts ./prompts
COPY sim ./sim
COPY testing ./testing
# A non-editable install: the venv holds everything and /src is left behind with this stage.
RUN pip install . && python -m compileall -q /opt/venv

# --- runtime: the venv, git, and a non-root user ------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="opsgraph" \
      org.opencontainers.image.description="A LangGraph supervisor and specialist agents that answer Kubernetes alerts." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/opsgraph/opsgraph"
# git: the GitOps toolset clones, branches and pushes with the real git (GitPython needs the binary).
# ca-certificates: HTTPS to the model endpoint, GitHub and Slack.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# A fixed numeric UID/GID so Kubernetes can verify runAsNonRoot without a passwd lookup.
RUN groupadd --system --gid 10001 opsgraph \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/opsgraph --create-home \
       --shell /usr/sbin/nologin opsgraph \
    && install -d -o 10001 -g 10001 /var/lib/opsgraph
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/opsgraph
# Used only when DATABASE_URL is unset (the embedded Postgres); mount a volume here to keep it.
ENV OPSGRAPH_DATA_DIR=/var/lib/opsgraph
USER 10001:10001
WORKDIR /home/opsgraph
EXPOSE 8080
# The image has python but no curl; urllib keeps it that way. /healthz is liveness only
# (the event loop answers); readiness (/readyz, database + schema) is the orchestrator's job.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["opsgraph", "serve", "--host", "0.0.0.0"]
