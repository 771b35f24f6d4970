# govproj — the two commands are `make dev` and `make test`; both run `make setup` when needed.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
SERVICES := intake review procurement acceptance evaluation portal
LOCAL_PACKAGES := libs/govkit libs/contracts devstack $(addprefix services/,$(SERVICES))
PYPROJECTS := $(addsuffix /pyproject.toml,$(LOCAL_PACKAGES))

.PHONY: setup dev test lint unit integration e2e proto proto-check lock bench clean helm-check

PORTAL_ASSETS := services/portal/node_modules/.package-lock.json
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

setup: $(STAMP) $(PORTAL_ASSETS) $(CHROMIUM) $(CJK_FONT)

# The portal's browser packages (ECharts), pinned in services/portal/package-lock.json and served
# by the portal itself (no CDN).
$(PORTAL_ASSETS): services/portal/package.json services/portal/package-lock.json
	cd services/portal && npm ci --no-audit --no-fund --ignore-scripts
	@touch $(PORTAL_ASSETS)

# Debian's chromium for the browser tests (Playwright launches it by path; no browser download),
# and CJK fonts so that pages and screenshots show Chinese. Installed only when missing, and only
# as root (CI is): the platform itself needs neither, so `make dev` never asks for root.
APT_INSTALL = if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); \
	else echo "note: $(1) is missing and this is not root; install it with apt for the browser tests (tests/browser)"; fi

$(CHROMIUM):
	@$(call APT_INSTALL,chromium)

$(CJK_FONT):
	@$(call APT_INSTALL,fonts-noto-cjk)

# Installs exactly the pinned versions, then the project's own packages in editable mode.
$(STAMP): requirements.lock $(PYPROJECTS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check "uv==0.13.8"
	$(UV) pip sync --quiet --python $(PY) requirements.lock
	$(UV) pip install --quiet --python $(PY) --no-deps $(addprefix -e ,$(LOCAL_PACKAGES))
	@touch $(STAMP)

# Re-pins requirements.lock from requirements.in (run by hand when a dependency changes).
lock: $(STAMP)
	$(UV) pip compile requirements.in -o requirements.lock --python-version 3.11 --no-header

dev: setup
	$(PY) -m devstack

proto: setup
	$(PY) -m devstack.protogen --out libs/contracts/src

proto-check: setup
	$(PY) -m devstack.protogen --check --out libs/contracts/src

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check libs/govkit/src devstack/src $(addsuffix /src,$(addprefix services/,$(SERVICES))) tests bench
	$(VENV)/bin/mypy libs/govkit/src devstack/src $(addsuffix /src,$(addprefix services/,$(SERVICES)))

test: setup proto-check lint helm-check
	$(PY) -m pytest

unit: setup
	$(PY) -m pytest -m "not integration and not e2e"

bench: setup
	$(PY) -m bench

# Renders the Helm chart offline, lints it strictly, validates every document, runs checkov and
# checks every environment variable against the services' settings.
helm-check: setup
	$(PY) -m devstack.helmcheck

clean:
	rm -rf $(VENV) .devstack .pytest_cache .mypy_cache .ruff_cache .test-output services/portal/node_modules
