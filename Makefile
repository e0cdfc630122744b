# Every routine task of orderlens. `make help` lists them.
SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(PATH)
UV := uv run

.PHONY: help bootstrap run stop status test test-unit test-integration test-conformance lint format typecheck schemas bench clean

help: ## list the tasks
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

bootstrap: ## install uv, the Python environment and the local Kafka + mongo-java-server
	@scripts/bootstrap

run: bootstrap ## start Kafka, mongo-java-server, the services and the simulator, and seed demo data
	@scripts/run-stack

stop: ## stop everything `make run` started
	@scripts/run-stack --stop

status: ## show what is running
	@$(UV) orderlens dev status

test: bootstrap lint typecheck ## install everything, lint, type-check and run every test
	$(UV) pytest

test-unit: ## only the tests that need no servers
	@scripts/bootstrap --python-only
	$(UV) pytest tests/unit

test-integration: bootstrap ## only the tests against real servers
	$(UV) pytest tests/integration tests/e2e

test-conformance: ## every MongoDB behaviour orderlens relies on, against MONGODB_URI or the local server
	@scripts/bootstrap
	$(UV) pytest tests/conformance

lint: ## ruff lint and format check
	@scripts/bootstrap --python-only
	$(UV) ruff check .
	$(UV) ruff format --check .

format: ## apply ruff fixes and formatting
	$(UV) ruff check --fix .
	$(UV) ruff format .

typecheck: ## mypy (strict for the orderlens library)
	@scripts/bootstrap --python-only
	$(UV) mypy shared/src tools/src $(sort $(wildcard services/*/src))

schemas: ## regenerate docs/schemas/*.json, docs/asyncapi.json and docs/openapi.json
	$(UV) python scripts/generate_schemas.py

bench: bootstrap ## run the benchmarks against the local stack (see bench/README.md)
	$(UV) python -m bench

clean: ## stop everything and delete local state (not the download cache)
	-@scripts/run-stack --stop
	rm -rf .orderlens
