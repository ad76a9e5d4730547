# Two commands matter: `make run` serves the API on SQLite, `make test` checks everything.
# Only Python 3.11+ is needed: uv is installed into .tools/ when it is not on PATH.

UV_VERSION := 0.13.9
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
# Empty locally; `-n N` spreads the suite over N worker processes, each with its own databases.
PYTEST_ARGS ?=

.PHONY: install run test lint typecheck pytest bench bench-growth fuzz format clean

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

.venv/.installed: uv.lock pyproject.toml | $(UV)
	$(UV) sync --locked
	@touch $@

install: .venv/.installed

run: install
	$(UV) run --no-sync agora db upgrade
	$(UV) run --no-sync agora serve --host $(HOST) --port $(PORT)

test: lint typecheck pytest

lint: install
	$(UV) run --no-sync ruff check src tests bench
	$(UV) run --no-sync ruff format --check src tests bench
	$(UV) run --no-sync lint-imports

typecheck: install
	$(UV) run --no-sync mypy --strict src

pytest: install
	$(UV) run --no-sync pytest $(PYTEST_ARGS)

# Each benchmark against its baseline, one after the other (about 25 minutes); BENCHMARKS.md.
bench: install
	$(UV) run --no-sync python -m bench.users_get
	$(UV) run --no-sync python -m bench.posts_list
	$(UV) run --no-sync python -m bench.product_get
	$(UV) run --no-sync python -m bench.transfers
	$(UV) run --no-sync python -m bench.login_flood
	$(UV) run --no-sync python -m bench.load
	$(UV) run --no-sync python -m bench.export_memory
	$(UV) run --no-sync python -m bench.bulk_load

# Latency as the data grows: 50,000 and 500,000 posts on PostgreSQL, MariaDB and SQLite
# (seeding takes most of the first run, about 15 minutes; later runs reuse the data).
bench-growth: install
	$(UV) run --no-sync python -m bench.growth

# Deep, stateful schemathesis runs as a user and as an admin, on PostgreSQL (minutes).
fuzz: install
	$(UV) run --no-sync python -m bench.fuzz

format: install
	$(UV) run --no-sync ruff format src tests bench
	$(UV) run --no-sync ruff check --fix src tests bench

clean:
	rm -rf .venv .tools .mypy_cache .ruff_cache .pytest_cache
