# supportdesk — everyday commands. `make dev` runs it all locally; `make test` tests it all.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCALE := shared/supportdesk/locale
CATALOGS := $(LOCALE)/es/LC_MESSAGES/messages.mo $(LOCALE)/en/LC_MESSAGES/messages.mo

.PHONY: dev test lint bench screenshots site catalogs messages chromium deploy-site clean

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

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.3
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
# The web function: its package, with the Jinja2 templates inside it (portal/templates
# stands for the top-level templates/; -L copies what it stands for).
build-WebFunction:
	cp -rL functions/portal "$(ARTIFACTS_DIR)/portal"
	find "$(ARTIFACTS_DIR)" -name __pycache__ -prune -exec rm -rf {} +

# The mail-intake function: its package only (the domain comes with the layer).
build-InboundFunction:
	cp -r functions/inbound "$(ARTIFACTS_DIR)/inbound"
	find "$(ARTIFACTS_DIR)" -name __pycache__ -prune -exec rm -rf {} +

# The notifier function: its package only.
build-NotifierFunction:
	cp -r functions/notifier "$(ARTIFACTS_DIR)/notifier"
	find "$(ARTIFACTS_DIR)" -name __pycache__ -prune -exec rm -rf {} +

# Cognito's custom-message trigger: its package only.
build-CognitoMessagesFunction:
	cp -r functions/cognito_messages "$(ARTIFACTS_DIR)/cognito_messages"
	find "$(ARTIFACTS_DIR)" -name __pycache__ -prune -exec rm -rf {} +

# The layer: the supportdesk package (the domain only; the local stack and the CLI are
# supportdesk_dev, which stays out) and its pinned dependencies, for the Lambda runtime.
# LAYER_PLATFORM chooses the wheels: by default those of the runtime template.yaml names
# (python3.12, arm64); tests/test_layer.py builds a layer for the machine it runs on.
LAYER_PLATFORM ?= --platform manylinux2014_aarch64 --implementation cp --python-version 3.12 --only-binary=:all:
build-SharedLayer:
	mkdir -p "$(ARTIFACTS_DIR)/python"
	$(PYTHON) -m pip install --quiet --target "$(ARTIFACTS_DIR)/python" $(LAYER_PLATFORM) \
	  -r shared/requirements.txt
	cp -r shared/supportdesk "$(ARTIFACTS_DIR)/python/supportdesk"
	PYTHONPATH="$(ARTIFACTS_DIR)/python" $(PYTHON) -m babel.messages.frontend compile -d "$(ARTIFACTS_DIR)/python/supportdesk/locale"
	find "$(ARTIFACTS_DIR)" -name __pycache__ -prune -exec rm -rf {} +

# Upload site/ to the stack's site bucket (after `sam deploy`): make deploy-site STACK=name
deploy-site:
	$(BIN)/python scripts/deploy_site.py $(STACK)

clean:
	rm -rf $(VENV) .pytest_cache $(LOCALE)/*/LC_MESSAGES/*.mo
