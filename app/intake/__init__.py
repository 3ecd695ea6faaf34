"""Alert sources besides the Alertmanager webhook."""
