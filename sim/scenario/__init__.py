"""Scenario files: the cluster a simulated API server serves, as one pydantic-validated YAML document.

A scenario says what a user applied (`objects`, spec only), what is true of the world the cluster runs
in (`world`: images, what processes do, nodes, provisioners), which alerts fire, the GitOps tree that
holds the manifests, and what a correct diagnosis and fix are (`expect`). Status is never written by
hand in shipped scenarios: `sim.controller` derives it. `overrides` exists for what the controller does
not derive. The format is documented in sim/README.md.

`schema` holds the models (import them from there), `loading` reads files; applying a scenario's fix is `sim.patching.apply_patch`.
"""

from sim.scenario.loading import find_scenario, load_scenario, parse_scenario, scenario_dir, shipped_scenarios
from sim.scenario.schema import Scenario, ScenarioError

__all__ = ["Scenario", "ScenarioError", "find_scenario", "load_scenario", "parse_scenario", "scenario_dir",
           "shipped_scenarios"]
