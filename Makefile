# The two commands of the README: `make demo` and `make test`. Each installs what it
# needs from the committed lock file (uv.lock) and works on a fresh machine that has
# only Python 3.11+ and pip. uv is used if it is on PATH, else a pinned uv is
# installed into .tools/ with pip.

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
VENV := $(CURDIR)/.venv
RUN := $(VENV)/bin
# A second environment at the lowest versions pyproject.toml allows (docs/testing.md).
LOWEST := $(CURDIR)/.venv-lowest
# What runs there: the fast contract and unit tests. test_compose checks the image's
# Airflow against the locked one, so it is left to the locked environment.
LOWEST_TESTS := -m "not slow and not deployment" --ignore=tests/test_compose.py
# Never let uv fetch a Python build: this machine reaches only package registries.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test lint typecheck docs unit lowest bench install clean chromium

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

# Every lower bound of pyproject.toml, installed together and tested: a fresh
# .venv-lowest each time, every dependency pinned to its bound (scripts/lowest_constraints.py),
# the rest resolved by uv as usual. Fails at install when the bounds cannot coexist.
lowest: $(UV)
	$(UV) venv --clear --quiet --python $(PYTHON) $(LOWEST)
	$(PYTHON) scripts/lowest_constraints.py > $(LOWEST)/constraints.txt
	$(UV) pip install --quiet --python $(LOWEST) --resolution lowest-direct \
		--constraints $(LOWEST)/constraints.txt -e '.[all]' --group dev
	$(LOWEST)/bin/python -m pytest -p no:cacheprovider $(LOWEST_TESTS)

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
	rm -rf .venv .venv-lowest .tools .demo .site .mypy_cache .ruff_cache .pytest_cache
