# Two commands matter: `make demo` and `make test`. Each sets up what it needs from nothing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint setup clean readme-table alertmanager prometheus

setup: $(STAMP)

# Reinstall only when the dependency list changes. The image's pip 23.2 backtracks and fails on
# this dependency set, so pip is upgraded first.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "opsgraph needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/opsgraph demo $(DEMO_ARGS)

# The intake tests run a real Alertmanager; installed here when missing and the machine allows it.
alertmanager:
	@scripts/ensure-alertmanager.sh

# The monitoring tests run a real Prometheus and its promtool (Debian's `prometheus` package), the same way.
prometheus:
	@scripts/ensure-prometheus.sh

test: $(STAMP) alertmanager prometheus
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info

# Regenerate the README's configuration table from the settings' descriptions.
readme-table: $(STAMP)
	$(BIN)/python -c 'import re, pathlib; from app.settings import settings_table_markdown as t; p = pathlib.Path("README.md"); s = p.read_text(); p.write_text(re.sub(r"(<!-- settings-table:start -->\n).*?(<!-- settings-table:end -->)", lambda m: m.group(1) + t() + "\n" + m.group(2), s, flags=re.S))'
