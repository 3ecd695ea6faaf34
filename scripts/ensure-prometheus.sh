#!/bin/sh
# Make sure a real Prometheus and promtool are on PATH for the monitoring tests (`make test` runs this first).
# Idempotent and quiet: does nothing when it is there; installs Debian's package when the machine
# allows it (root with apt-get); otherwise says why and exits 0 so the tests can report it loudly.
set -eu
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-prometheus: prometheus is missing and cannot be installed here" \
         "(needs root and apt-get); the monitoring tests will say so" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 || {
        echo "ensure-prometheus: apt-get could not install prometheus" >&2
        exit 0
    }
fi
# The package (2.42 on Debian 12, with promtool) enables a systemd unit; tests run their own instance on a loopback port.
command -v systemctl >/dev/null 2>&1 && systemctl disable --now prometheus >/dev/null 2>&1 || true
exit 0
