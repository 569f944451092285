# supportdesk — everyday commands. `make dev` runs it all locally; `make test` tests it all.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCALE := shared/supportdesk/locale
CATALOGS := $(LOCALE)/es/LC_MESSAGES/messages.mo $(LOCALE)/en/LC_MESSAGES/messages.mo

.PHONY: dev test lint bench screenshots site catalogs messages chromium deploy-site smoke clean

dev: $(VENV)/.installed $(CATALOGS)
	$(BIN)/python -m supportdesk_dev.devserver

test: $(VENV)/.installed $(CATALOGS) chromium
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/cfn-lint template.yaml
	$(BIN)/ruff check shared functions tests bench scripts
	$(BIN)/mypy shared/supportdesk shared/supportdesk_dev functions

# Every benchmark, each report written into its block of bench/RESULTS.md (about 10 minutes);
# `make bench BENCHES="web mail"` runs some (`bench/all.py --list`). Not part of `make test`.
bench: $(VENV)/.installed $(CATALOGS) chromium
	$(BIN)/python bench/all.py $(BENCHES)

# PNG screenshots of every page state, in both languages, at 1366x768 and 390x844, into
# screenshots/ (not committed): the system started as the browser tests start it. Not part of `make test`.
screenshots: $(VENV)/.installed $(CATALOGS) chromium
	$(BIN)/python scripts/screenshots.py

# The static pages are one shell each; edit scripts/build_site.py or templates/_head.html.
site: $(VENV)/.installed
	$(BIN)/python scripts/build_site.py

# The layer's lock first (every version and hash the Lambda layer ships), then the project
# and its development tools, which keep those versions (tests/test_build.py checks it).
$(VENV)/.installed: pyproject.toml shared/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.3
	$(BIN)/pip install --quiet --require-hashes -r shared/requirements.txt
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Babel catalogs: `make messages` after changing texts, then translate the new
# entries in $(LOCALE)/es/LC_MESSAGES/messages.po; `make catalogs` compiles them.
catalogs: $(CATALOGS)

$(LOCALE)/%/LC_MESSAGES/messages.mo: $(LOCALE)/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile -d $(LOCALE) -l $*

messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -o $(LOCALE)/messages.pot --no-location --omit-header shared functions templates
	$(BIN)/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) --no-wrap --no-fuzzy-matching

# Browser tests drive Debian's Chromium (Playwright cannot download a browser here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# --- sam build (BuildMethod: makefile) ------------------------------------------------
# One target per resource of template.yaml, each run by `sam build` into its own
# ARTIFACTS_DIR (samconfig.toml: built in the source, in parallel, cached).
#
# The runtime they are built for: template.yaml's python3.12 on arm64. Lambda cannot write
# bytecode into /opt or /var/task, so what is not shipped compiled is compiled again at every
# cold start; and bytecode is version-specific (a 3.11 .pyc is a cpython-311 file that 3.12
# never looks at). So it is compiled by BUILD_PYTHON, which must be the runtime's version:
# the build refuses another one rather than warn, since a build for the wrong version would
# deploy and silently lose the bytecode. tests/test_layer.py builds for its own Python
# (RUNTIME_VERSION=3.11 BUILD_PYTHON=.venv/bin/python, LAYER_PLATFORM for its wheels).
RUNTIME_VERSION ?= 3.12
BUILD_PYTHON ?= python$(RUNTIME_VERSION)
LAYER_PLATFORM ?= --platform manylinux2014_aarch64 --implementation cp --python-version $(RUNTIME_VERSION) --only-binary=:all:
# Babel's locale data the layer keeps (32 MB for 1,084 locales otherwise): the languages we
# speak (supportdesk.i18n.LANGUAGES) and root, which both inherit from.
LAYER_LOCALES := root es en

.PHONY: build-python lock build-SharedLayer build-WebFunction build-InboundFunction build-NotifierFunction build-DepartmentsFunction build-CognitoMessagesFunction

# BUILD_PYTHON runs (a pyenv shim of a version not selected does not) and is the runtime's version.
build-python:
	@found=$$("$(BUILD_PYTHON)" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || { \
	  echo "The build compiles bytecode for Python $(RUNTIME_VERSION), the Lambda runtime's, and needs that" \
	    "interpreter: $(BUILD_PYTHON) was not found or does not run (install Python $(RUNTIME_VERSION)," \
	    "or set BUILD_PYTHON to one)." >&2; exit 1; }; \
	[ "$$found" = "$(RUNTIME_VERSION)" ] || { \
	  echo "$(BUILD_PYTHON) is Python $$found, the runtime is Python $(RUNTIME_VERSION): bytecode of $$found" \
	    "would be ignored there. Build with a Python $(RUNTIME_VERSION) (BUILD_PYTHON=...)." >&2; exit 1; }

# Compiles every module under ARTIFACTS_DIR, keeping the sources (tracebacks show them).
# unchecked-hash: the .pyc is trusted without looking at the source's mtime or hash, right
# for code that never changes in place: Lambda's file system is read-only, and the dates a
# zip keeps (2-second steps, no zone, reset by some zip tools) would make timestamp .pyc
# stale and recompiled at every cold start. The name inside each .pyc is where Lambda puts
# the file ($(1): /opt for a layer, /var/task for a function), not the build folder; every
# build gives the same bytes (marshal orders frozensets since Python 3.11).
define compile-bytecode
	"$(BUILD_PYTHON)" -m compileall -q -f -j 0 --invalidation-mode unchecked-hash \
	  -s "$(abspath $(ARTIFACTS_DIR))" -p $(1) "$(abspath $(ARTIFACTS_DIR))"
endef

# Our own code copied into an artifact ($(1)) loses what local runs and tools leave in it:
# their bytecode (compiled anew for the runtime) and every hidden file or folder (.dev/ holds
# the local reply secret; .env, .venv, editor files): none of it is code, none may ship.
define clean-copy
	find "$(1)" -name __pycache__ -prune -exec rm -rf {} +
	find "$(1)" -mindepth 1 -name '.*' -prune -exec rm -rf {} +
endef

# A function: its package under functions/ (symlinks followed: portal/templates stands for
# the top-level templates/), compiled for the runtime. A new function's target is two lines:
#   build-<Resource>: build-python
#   	$(call build-function,<folder under functions/>)
define build-function
	cp -rL functions/$(1) "$(ARTIFACTS_DIR)/$(1)"
	$(call clean-copy,$(ARTIFACTS_DIR)/$(1))
	$(call compile-bytecode,/var/task)
endef

build-WebFunction: build-python
	$(call build-function,portal)

build-InboundFunction: build-python
	$(call build-function,inbound)

build-NotifierFunction: build-python
	$(call build-function,notifier)

# The departments function (the Departments custom resource): its package only.
build-DepartmentsFunction: build-python
	$(call build-function,departments)

# Cognito's custom-message trigger: its package only.
build-CognitoMessagesFunction: build-python
	$(call build-function,cognito_messages)

# The layer: the supportdesk package (the domain only; the local stack and the CLI are
# supportdesk_dev, which stays out) and the locked dependencies (shared/requirements.txt,
# every version and hash; `make lock` makes it), with the wheels of the runtime's platform.
# No console scripts (bin/: they name the builder's interpreter and no handler runs them);
# Babel's locale data only for LAYER_LOCALES.
build-SharedLayer: build-python
	mkdir -p "$(ARTIFACTS_DIR)/python"
	$(PYTHON) -m pip install --quiet --no-compile --require-hashes --target "$(ARTIFACTS_DIR)/python" \
	  $(LAYER_PLATFORM) -r shared/requirements.txt
	rm -rf "$(ARTIFACTS_DIR)/python/bin"
	find "$(ARTIFACTS_DIR)/python/babel/locale-data" -name '*.dat' $(foreach l,$(LAYER_LOCALES),! -name $(l).dat) -delete
	cp -r shared/supportdesk "$(ARTIFACTS_DIR)/python/supportdesk"
	$(call clean-copy,$(ARTIFACTS_DIR)/python/supportdesk)
	PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$(ARTIFACTS_DIR)/python" $(PYTHON) -m babel.messages.frontend compile -d "$(ARTIFACTS_DIR)/python/supportdesk/locale"
	$(call compile-bytecode,/opt)

# The layer's lock: every package it installs, for the runtime's platform, with hashes, from
# the top-level pins of shared/requirements.in. The development venv installs the same.
lock: $(VENV)/.installed
	$(BIN)/uv pip compile shared/requirements.in --python-platform aarch64-manylinux2014 \
	  --python-version $(RUNTIME_VERSION) --generate-hashes --custom-compile-command "make lock" \
	  -o shared/requirements.txt

# The customer's path against a running stack (scripts/smoke.py says what it needs):
# make smoke URL=http://127.0.0.1:8000 (`make dev`), or URL=https://... with SMOKE_EMAIL,
# SMOKE_PASSWORD (and SMOKE_SMTP... for the mail round trip) for a stack in AWS.
URL ?= http://127.0.0.1:8000
smoke: $(VENV)/.installed
	$(BIN)/python scripts/smoke.py $(URL) $(SMOKE_ARGS)

# Upload site/ to the stack's site bucket (after `sam deploy`): make deploy-site STACK=name
deploy-site:
	$(BIN)/python scripts/deploy_site.py $(STACK)

clean:
	rm -rf $(VENV) .pytest_cache $(LOCALE)/*/LC_MESSAGES/*.mo
