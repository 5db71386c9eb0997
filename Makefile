# artclf — `make help` lists the targets. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE ?= 1
export MLFLOW_DISABLE_TELEMETRY ?= true
# Real paintings for the tests and benchmarks that use them, where the checkout has them beside it.
export ARTCLF_REAL_DATA ?= $(abspath $(wildcard ../shared/data/wikiart_sample))
export ARTCLF_MORE_DATA ?= $(abspath $(wildcard ../shared/data/wikiart_more))

.DEFAULT_GOAL := help
.PHONY: help install run test test-slow bench ui report server serve demo browser lint format clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# -qq: errors only; pip's per-package "Location ... is ignored" warnings are not ours
	$(PY) -m pip install -qq --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install artclf with its dependencies (once; again when pyproject.toml changes)

run: install ## train the default configuration on the embedded dataset, tracked in MLflow
	$(PY) -m artclf.train $(ARGS)
	@echo
	@echo "Results: run folder under outputs/runs/, MLflow store $(CURDIR)/mlflow.db"
	@echo "Compare runs: make ui   (then open http://127.0.0.1:5000/#/experiments?workflowType=machine_learning)"

test: install ## run the fast test suite on every core (pytest-xdist)
	$(PY) -m pytest -n auto $(ARGS)

test-slow: install ## run the slow end-to-end tests
	$(PY) -m pytest -m slow $(ARGS) || [ $$? -eq 5 ]  # 5: no test is marked slow

bench: install ## measure throughput against baselines run side by side; writes bench_results/
	$(PY) -m benchmarks.bench $(ARGS)

ui: install ## MLflow UI over the default store on http://127.0.0.1:5000 (its runs tables)
	@echo "Open http://127.0.0.1:5000/#/experiments?workflowType=machine_learning (the runs tables)"
	MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false $(VENV)/bin/mlflow ui \
		--backend-store-uri sqlite:///$(CURDIR)/mlflow.db --host 127.0.0.1 --port 5000

report: install ## leaderboard, figures and HTML of the latest experiment in the default store
	$(PY) -m artclf.report $(ARGS)

server: install ## team MLflow server on PostgreSQL (needs Debian's postgresql) on 127.0.0.1:5000
	$(PY) -m artclf.server $(ARGS)

serve: install ## serve a registered classifier on http://127.0.0.1:8000 (ARGS="model=models:/<name>@champion")
	@$(PY) -c "import litserve" 2>/dev/null || \
		$(PY) -m pip install --quiet --disable-pip-version-check -e ".[serve]"
	$(PY) -m artclf.serve $(ARGS)

demo: install ## web app on http://127.0.0.1:8501 (trains and registers a model first if none is)
	@$(PY) -c "import streamlit" 2>/dev/null || \
		$(PY) -m pip install --quiet --disable-pip-version-check -e ".[app]"
	$(PY) -m artclf.app --ensure-model $(ARGS)

browser: ## install Debian's chromium for the browser tests, when missing (needs root, apt)
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

lint: install ## ruff lint and format check; the import layers contract (.importlinter)
	$(VENV)/bin/ruff check src tests benchmarks experiments
	$(VENV)/bin/ruff format --check src tests benchmarks experiments
	$(VENV)/bin/lint-imports --no-cache

format: install ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix src tests benchmarks experiments
	$(VENV)/bin/ruff format src tests benchmarks experiments

clean: ## remove run outputs and caches, printing what each held (keeps .venv, mlflow.db, mlartifacts)
	@found="$(wildcard outputs multirun bench_results .cache .pytest_cache .ruff_cache)"; \
	if [ -n "$$found" ]; then du -sch $$found | sed 's/\ttotal$$/\tfreed in all/'; \
	else echo "nothing to remove"; fi
	rm -rf outputs multirun bench_results .cache .pytest_cache .ruff_cache
