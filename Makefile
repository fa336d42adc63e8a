# `make demo` and `make test` install what they need, then run. Both are idempotent: with
# everything installed they go straight to work.

VENV ?= .venv
PY := $(VENV)/bin/python
# NUT's server and client (the real upsd/dummy-ups the demo and tests run), libsystemd and
# pkg-config to build systemd-python, and Debian's venv/headers/compiler for a stock python3.
APT_PACKAGES := nut-server nut-client libsystemd-dev pkg-config python3-venv python3-dev gcc
STAMP := $(VENV)/.installed

.PHONY: all deps apt-deps venv demo test lint typecheck unit integration clean

all: test

deps: apt-deps venv

apt-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

demo: deps
	$(VENV)/bin/pyups demo

lint: venv
	$(PY) -m ruff check src tests bench

typecheck: venv
	$(PY) -m mypy

unit: venv
	$(PY) -m pytest tests/unit

integration: deps
	$(PY) -m pytest tests/integration

test: deps lint typecheck
	$(PY) -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
