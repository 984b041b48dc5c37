# make demo: set everything up and run the main job on examples/.
# make test: set everything up and run the whole suite (lint, types, tests).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the tests and the demo run for real: named, named-checkzone,
# dig, rndc, a validating resolver (unbound), the web servers torpub configures
# (nginx, Apache), mktorrent (the benchmark's peer), hyperfine (start-up timings) and
# opentracker (the swarm's tracker).
DEBIAN_PACKAGES := bind9 bind9-utils dnsutils unbound nginx apache2 mktorrent hyperfine opentracker

.PHONY: demo test lint typecheck pytest bench system-deps clean

$(STAMP): pyproject.toml examples/torpub-hello-provider/pyproject.toml examples/torpub-hello-provider/torpub_hello/__init__.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	# The example third-party backend, installed as any plug-in would be.
	$(BIN)/pip install --quiet examples/torpub-hello-provider
	touch $@

system-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi

demo: $(STAMP) system-deps
	$(BIN)/python examples/make-release.py examples/release
	@mkdir -p examples/out
	@test -f examples/out/db.example.com || cp examples/zones/db.example.com examples/out/db.example.com
	@echo; echo "== torpub sync --dry-run (the plan a reviewer sees)"
	cd examples && ../$(BIN)/torpub sync --dry-run
	@echo; echo "== torpub sync (writes examples/out/db.example.com)"
	cd examples && ../$(BIN)/torpub sync
	@echo; echo "== named-checkzone on the result"
	/usr/bin/named-checkzone example.com examples/out/db.example.com
	@echo; echo "== a second sync changes nothing"
	cd examples && ../$(BIN)/torpub sync --dry-run --detailed-exitcode

lint: $(STAMP)
	$(BIN)/ruff check torpub providers tests benchmarks examples
	$(BIN)/ruff format --check torpub providers tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) system-deps
	$(BIN)/pytest

test: lint typecheck pytest

bench: $(STAMP) system-deps
	$(BIN)/python benchmarks/build.py
	$(BIN)/python benchmarks/resolve.py
	$(BIN)/python benchmarks/sync_calls.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/swarm.py
	$(BIN)/python benchmarks/seed_scale.py

clean:
	rm -rf $(VENV) examples/release examples/out .pytest_cache .mypy_cache .ruff_cache .hypothesis
