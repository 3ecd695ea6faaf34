// opsgraph's entry point (not upstream): the mixin's alerting rules with kube-prometheus-stack's runbook links.
// Rendered by scripts/render-mixin-rules.py into deploy/monitoring/rules/kubernetes-mixin.yaml.
local mixin = (import 'alerts/alerts.libsonnet') + (import 'config.libsonnet') + {
  _config+:: {
    runbookURLPattern: 'https://runbooks.prometheus-operator.dev/runbooks/kubernetes/%s',
  },
};

mixin.prometheusAlerts
