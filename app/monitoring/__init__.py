"""The monitoring pipeline: the kubernetes-mixin rules, real Prometheus and Alertmanager over the sim's metrics."""
