"""The controller's derive steps, one module per part of the control plane (see sim/controller.py)."""
