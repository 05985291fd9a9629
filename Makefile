# The two commands of the README: `make demo` and `make test`. Each installs what it
# needs from the committed lock file (uv.lock) and works on a fresh machine that has
# only Python 3.11+ and pip. uv is used if it is on PATH, else a pinned uv is
# installed into .tools/ with pip.

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
VENV := $(CURDIR)/.venv
RUN := $(VENV)/bin
# Never let uv fetch a Python build: this machine reaches only package registries.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test lint typecheck docs unit bench install clean chromium

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

install: $(UV)
	$(UV) sync --locked --all-extras --python $(PYTHON)

demo: install
	$(RUN)/python scripts/run_demo.py

test: install lint typecheck docs unit

lint:
	$(RUN)/ruff check .
	$(RUN)/ruff format --check .

typecheck:
	$(RUN)/mypy

docs:
	$(RUN)/mkdocs build --strict --site-dir $(CURDIR)/.site

unit: chromium
	$(RUN)/python -m pytest

# The UI test drives Debian's Chromium through Playwright (Playwright's own browser
# download needs the internet). Installed only when missing; needs root, as in CI.
chromium:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y --no-install-recommends chromium)

bench: install
	$(RUN)/python benchmarks/import_time.py --update-docs
	$(RUN)/python benchmarks/decision_latency.py --update-docs
	$(RUN)/python benchmarks/kubernetes_decision_latency.py --update-docs
	$(RUN)/python benchmarks/placement_quality.py --update-docs
	$(RUN)/python benchmarks/parse_overhead.py --update-docs
	$(RUN)/python benchmarks/quantum_overhead.py --update-docs
	$(RUN)/python benchmarks/trino_streaming.py --update-docs
	$(RUN)/python benchmarks/materialize_memory.py --update-docs
	$(RUN)/python benchmarks/lineage_overhead.py --update-docs
	$(RUN)/python benchmarks/lineage_delivery.py --update-docs

clean:
	rm -rf .venv .tools .demo .site .mypy_cache .ruff_cache .pytest_cache
