# `make demo` and `make test` install what they need, then run. Both are idempotent: with
# everything installed they go straight to work.

VENV ?= .venv
PY := $(VENV)/bin/python
# The system interpreter, not whatever `python3` is first on PATH (pyenv's, say): the
# development venv, the tests and the benchmarks run on the interpreter that the package and
# `make install` ship on, and an installed venv made from a python under /root or /home
# would not start under the unit's ProtectHome=yes.
SYSTEM_PYTHON ?= /usr/bin/python3
# NUT's server and client (the real upsd/dummy-ups the demo and tests run), libsystemd and
# pkg-config to build systemd-python, and Debian's venv/headers/compiler for a stock python3;
# rsyslog and systemd (journald, journalctl, systemd-analyze) for the packaging tests;
# prometheus (the server and promtool) for the metrics and alert-rule tests; shellcheck for
# the late-shutdown hook, a POSIX sh script;
# for tests/system, which boots systemd in namespaces: mount (mount, and util-linux's unshare,
# nsenter, setpriv, pivot_root), dbus (D-Bus and logind, the poweroff path through logind) and
# python3-pip (the wheelhouse `make install` reads there, built with the system python);
# iproute2 (`ip netns`, veth, bridge) for tests/integration/test_multihost.py and
# bench/protection.py, whose hosts are network namespaces.
APT_PACKAGES := nut-server nut-client libsystemd-dev pkg-config python3-venv python3-dev gcc \
	rsyslog systemd libnss3-tools prometheus shellcheck mount dbus python3-pip iproute2
# `make deb`: Debian's packaging tools (dpkg-buildpackage, debhelper, dh-virtualenv) and
# lintian; groff-base and man-db to check the man pages; the rest is what the venv build
# of systemd-python needs, as above.
DEB_PACKAGES := dpkg-dev debhelper dh-virtualenv fakeroot build-essential lintian groff-base \
	man-db python3-venv python3-dev libsystemd-dev pkg-config
STAMP := $(VENV)/.installed

.PHONY: all deps apt-deps deb-deps venv demo test lint typecheck unit integration system bench \
	clean deb

all: test

deps: apt-deps venv

apt-deps deb-deps:
	@missing=""; for p in $(if $(filter deb-deps,$@),$(DEB_PACKAGES),$(APT_PACKAGES)); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(STAMP)

# A venv made from another interpreter (by an older Makefile, or with another SYSTEM_PYTHON)
# is made again, so that nobody tests on one interpreter and ships on another.
ifneq ($(shell sed -n 's/^home = //p' $(VENV)/pyvenv.cfg 2>/dev/null),$(patsubst %/,%,$(dir $(SYSTEM_PYTHON))))
.PHONY: $(STAMP)
endif

$(STAMP): pyproject.toml
	$(SYSTEM_PYTHON) -m venv --clear $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,notify]'
	touch $@

demo: deps
	$(VENV)/bin/pyups demo

lint: venv
	$(PY) -m ruff check src tests bench

typecheck: venv
	$(PY) -m mypy

# The tiers are markers: `integration` (all of tests/integration), `system` (tests/system).
unit: venv
	$(PY) -m pytest -n 2 --dist loadgroup -m "not integration and not system"

integration: deps
	$(PY) -m pytest -n 2 --dist loadgroup -m integration

system: deps deb-deps
	$(PY) -m pytest -m system

# Two workers (pytest-xdist): each test file stays on one, the system tier on one. The
# system tier builds the Debian package once (`make deb`) to install it in booted systems.
# The Debian package is built (and lintian-checked) first: tests/system/test_deb.py installs it.
test: deps deb-deps lint typecheck
	$(MAKE) deb
	$(PY) -m pytest -n 2 --dist loadgroup

# Every benchmark in bench/, one after the other on a quiet machine, then the README's
# Performance section and docs/latency.png are rewritten from their results. Exits non-zero
# when a figure misses its target. Benchmarks are modules run from the repository root
# (`python -m bench.NAME`): they import the test harness as tests.harness.
BENCH_STAMP := $(VENV)/.bench-installed
BENCHES := poll_cost latency idle_cost scale replay_throughput protection upsmon_parity

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[test,notify,bench]'
	touch $@

bench: deps $(BENCH_STAMP)
	@status=0; for b in $(BENCHES); do \
	  echo "== bench.$$b"; $(PY) -m bench.$$b || status=1; echo; \
	done; \
	$(PY) -m bench.report README.md || status=1; exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist

# ---- the Debian package ------------------------------------------------------------------
# `make deb` builds dist/pyups_VERSION_ARCH.deb with dpkg-buildpackage (debian/), in a copy
# of the tree under build/deb (dpkg-buildpackage writes next to the tree it builds, and the
# copy leaves no build residue in the checkout), then runs lintian on it: any tag that
# debian/pyups.lintian-overrides does not justify fails the build, pedantic ones included.
DEB_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB := dist/pyups_$(DEB_VERSION)_$(DEB_ARCH).deb

deb: deb-deps
	@changelog=$$(dpkg-parsechangelog -S Version); [ "$$changelog" = "$(DEB_VERSION)" ] || { \
	  echo "debian/changelog is at $$changelog, pyproject.toml at $(DEB_VERSION)" >&2; exit 1; }
	rm -rf build/deb && mkdir -p build/deb/pyups build/pip-cache dist
	git ls-files -z --cached --others --exclude-standard | tar -c --null -T - | tar -x -C build/deb/pyups
	cd build/deb/pyups && PIP_CACHE_DIR=$(CURDIR)/build/pip-cache dpkg-buildpackage -b -us -uc
	mv build/deb/pyups_$(DEB_VERSION)_$(DEB_ARCH).deb $(DEB)
	lintian --info --pedantic --fail-on error,warning,info,pedantic $(DEB)
	@echo "Built $(DEB)"

# ---- install / uninstall (as root) -------------------------------------------------------
# `make install` puts pyups in its own venv (VENV_DIR), links PREFIX/bin/pyups to it, and
# installs the systemd unit, the late-shutdown hook, the journal catalog, the README (the
# unit's Documentation=) and the example configuration. It never overwrites an existing
# CONFDIR/pyups.conf.
# DESTDIR stages everything under another root (for packagers and the tests): the catalog
# database and systemd are then left alone, and INSTALL_VENV=no skips the venv (a venv
# cannot be moved after it is made). PREFIX is /usr/local (default) or /usr: the places
# systemd looks for units and catalogs; the unit and catalog paths follow it.
DESTDIR ?=
PREFIX ?= /usr/local
VENV_DIR ?= /opt/pyups
INSTALL_VENV ?= yes
# Optional extras installed with pyups: notify (Apprise) for { notify = "URL" } actions.
EXTRAS ?= notify
CONFDIR ?= /etc/pyups
STATEDIR ?= /var/lib/pyups
BINDIR := $(PREFIX)/bin
UNITDIR := $(PREFIX)/lib/systemd/system
CATALOGDIR := $(PREFIX)/lib/systemd/catalog
DOCDIR := $(PREFIX)/share/doc/pyups
# Rewrites the /usr/local paths in the unit and the catalog when PREFIX is not /usr/local.
PREFIX_SED := sed 's|/usr/local/|$(PREFIX)/|g'
# The late-shutdown hook (the power race, DESIGN §10). systemd looks for these only in
# /usr/lib/systemd/system-shutdown and /lib/systemd/system-shutdown, so this path does not
# follow PREFIX; the hook's own path to pyups does.
SHUTDOWN_HOOKDIR := /usr/lib/systemd/system-shutdown

.PHONY: install uninstall

install:
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -ne 0 ]; then \
	  echo "make install: run as root (or stage with DESTDIR=...)" >&2; exit 1; fi
	@if [ "$(INSTALL_VENV)" = yes ]; then \
	  set -e; \
	  echo "Creating the venv $(DESTDIR)$(VENV_DIR) and installing pyups into it"; \
	  $(SYSTEM_PYTHON) -m venv $(DESTDIR)$(VENV_DIR); \
	  $(DESTDIR)$(VENV_DIR)/bin/python -m pip install -q ".$(if $(EXTRAS),[$(EXTRAS)])"; \
	else echo "INSTALL_VENV=$(INSTALL_VENV): not creating $(DESTDIR)$(VENV_DIR)"; fi
	install -d -m 755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(CATALOGDIR) $(DESTDIR)$(DOCDIR)
	ln -sfn $(VENV_DIR)/bin/pyups $(DESTDIR)$(BINDIR)/pyups
	$(PREFIX_SED) packaging/systemd/pyups.service > $(DESTDIR)$(UNITDIR)/pyups.service
	chmod 644 $(DESTDIR)$(UNITDIR)/pyups.service
	$(PREFIX_SED) packaging/systemd/pyups.catalog > $(DESTDIR)$(CATALOGDIR)/pyups.catalog
	chmod 644 $(DESTDIR)$(CATALOGDIR)/pyups.catalog
	install -d -m 755 $(DESTDIR)$(SHUTDOWN_HOOKDIR)
	sed 's|/usr/local/bin/pyups|$(BINDIR)/pyups|g' packaging/systemd/system-shutdown/pyups \
	  > $(DESTDIR)$(SHUTDOWN_HOOKDIR)/pyups
	chmod 755 $(DESTDIR)$(SHUTDOWN_HOOKDIR)/pyups
	install -m 644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -d -m 755 $(DESTDIR)$(DOCDIR)/prometheus
	install -m 644 packaging/prometheus/pyups-alerts.yml $(DESTDIR)$(DOCDIR)/prometheus/
	install -d -m 755 $(DESTDIR)$(CONFDIR)
	install -m 644 etc/pyups.conf.example $(DESTDIR)$(CONFDIR)/pyups.conf.example
	@if [ -e $(DESTDIR)$(CONFDIR)/pyups.conf ]; then \
	  echo "Keeping the existing $(DESTDIR)$(CONFDIR)/pyups.conf"; \
	else \
	  install -m 600 etc/pyups.conf.example $(DESTDIR)$(CONFDIR)/pyups.conf && \
	  echo "Installed $(DESTDIR)$(CONFDIR)/pyups.conf (mode 600) from the example: edit it"; \
	fi
	install -d -m 700 $(DESTDIR)$(STATEDIR)
	@if [ -n "$(DESTDIR)" ]; then echo "DESTDIR set: run 'journalctl --update-catalog' on the target"; \
	else journalctl --update-catalog || echo "journalctl --update-catalog failed (no journal?), ignored"; fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; \
	  echo "Installed. Start it with: systemctl enable --now pyups"; \
	else echo "Installed (systemd is not running here: no daemon-reload)."; fi

uninstall:
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -ne 0 ]; then \
	  echo "make uninstall: run as root (or DESTDIR=...)" >&2; exit 1; fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	  systemctl disable --now pyups.service 2>/dev/null || true; fi
	rm -f $(DESTDIR)$(UNITDIR)/pyups.service $(DESTDIR)$(CATALOGDIR)/pyups.catalog
	rm -f $(DESTDIR)$(SHUTDOWN_HOOKDIR)/pyups
	@if [ -n "$(DESTDIR)" ]; then rmdir $(DESTDIR)$(SHUTDOWN_HOOKDIR) 2>/dev/null || true; fi
	rm -f $(DESTDIR)$(CONFDIR)/pyups.conf.example $(DESTDIR)$(DOCDIR)/README.md
	rm -f $(DESTDIR)$(DOCDIR)/prometheus/pyups-alerts.yml
	@for d in $(DESTDIR)$(DOCDIR)/prometheus $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(CATALOGDIR); do \
	  rmdir $$d 2>/dev/null || true; done
	@if [ -L $(DESTDIR)$(BINDIR)/pyups ]; then rm -f $(DESTDIR)$(BINDIR)/pyups; fi
	@case "$(VENV_DIR)" in /?*) rm -rf $(DESTDIR)$(VENV_DIR);; \
	  *) echo "VENV_DIR=$(VENV_DIR) is not an absolute path: not removed" >&2;; esac
	@if [ -z "$(DESTDIR)" ]; then journalctl --update-catalog || true; fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "Kept $(DESTDIR)$(CONFDIR)/pyups.conf (your configuration) and $(DESTDIR)$(STATEDIR) (state); remove them by hand if you no longer want them."
