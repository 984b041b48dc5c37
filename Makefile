# make demo: set everything up and run the main job on examples/.
# make test: set everything up and run the whole suite (lint, types, tests).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the tests and the demo run for real: named, named-checkzone,
# dig, rndc, a validating resolver (unbound), the web servers torpub configures
# (nginx, Apache), mktorrent (the benchmark's peer), hyperfine (start-up timings),
# opentracker (the swarm's tracker), dnsdist (DNS over HTTPS in front of named, for
# `--doh` and the browser client); for the browser client (web/): node and headless
# Chromium.
DEBIAN_PACKAGES := bind9 bind9-utils dnsutils unbound nginx apache2 mktorrent hyperfine opentracker nodejs chromium dnsdist
WEB_STAMP := web/node_modules/.installed

.PHONY: demo test lint typecheck pytest web web-test bench system-deps clean

$(STAMP): pyproject.toml examples/torpub-hello-provider/pyproject.toml examples/torpub-hello-provider/torpub_hello/__init__.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	# The example third-party backend, installed as any plug-in would be.
	$(BIN)/pip install --quiet examples/torpub-hello-provider
	touch $@

# The tests run their own dnsdist on free ports, so the package's service is stopped.
# Debian ships npm apart from nodejs (NodeSource's nodejs carries its own).
system-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	  case "$$missing" in *dnsdist*) $$sudo systemctl disable --now dnsdist >/dev/null 2>&1 || true;; esac; \
	fi; \
	command -v npm >/dev/null || { sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq npm; }

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

# The browser client: dependencies exactly as locked (no install scripts: web/.npmrc),
# then the bundles in web/dist/, which are built, not committed.
$(WEB_STAMP): web/package.json web/package-lock.json | system-deps
	cd web && PUPPETEER_SKIP_DOWNLOAD=1 npm ci
	touch $@

web: $(WEB_STAMP)
	cd web && npm run build

web-test: web
	cd web && npm test

pytest: $(STAMP) system-deps web
	$(BIN)/pytest

test: lint typecheck web-test pytest

bench: $(STAMP) system-deps
	$(BIN)/python benchmarks/build.py
	$(BIN)/python benchmarks/resolve.py
	$(BIN)/python benchmarks/sync_calls.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/swarm.py
	$(BIN)/python benchmarks/seed_scale.py

clean:
	rm -rf $(VENV) examples/release examples/out .pytest_cache .mypy_cache .ruff_cache .hypothesis
	rm -rf web/node_modules web/dist
