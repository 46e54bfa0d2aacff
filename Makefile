# The two commands of the README: `make run` (the product on SQLite with demo data) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BPMN_CHECK := $(CURDIR)/../shared/tools/bpmn-check
# The diagram viewer of the case pages: bpmn-js from the npm registry, never committed.
BPMN_JS_VERSION := 18.6.1
VENDOR := web/static/vendor
VIEWER := $(VENDOR)/node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js

.PHONY: run test install chromium libreoffice bpmn-check lint bench reliability

$(BIN)/ksdpl: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/ksdpl

# The modules compiled to bytecode as a wheel install compiles them, so `ksdpl` starts without
# compiling them each time where PYTHONDONTWRITEBYTECODE is set (up-to-date files are skipped).
install: $(BIN)/ksdpl $(VIEWER)
	$(BIN)/python -m compileall -q engine handlers web

$(VIEWER):
	@command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null)
	mkdir -p $(VENDOR)
	npm install --prefix $(VENDOR) --silent --no-audit --no-fund --no-save bpmn-js@$(BPMN_JS_VERSION)
	test -f $@ && touch $@

run: install
	$(BIN)/ksdpl init-db
	$(BIN)/ksdpl demo
	$(BIN)/ksdpl serve --with-worker --dev

chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# Letters get a PDF beside the DOCX where LibreOffice is installed; the tests run that path.
libreoffice:
	@command -v soffice >/dev/null || (apt-get update -qq && apt-get install -y -qq libreoffice-writer-nogui >/dev/null)

# The diagram lint/render tools live read-only in ../shared; tests use a writable copy.
bpmn-check:
	@if [ -d "$(BPMN_CHECK)" ]; then \
	  mkdir -p .cache && rm -rf .cache/bpmn-check && cp -r "$(BPMN_CHECK)" .cache/bpmn-check && chmod -R u+w .cache/bpmn-check && \
	  (cd .cache/bpmn-check && npm ci --silent --no-audit --no-fund >/dev/null); \
	fi

lint: install
	$(BIN)/ruff check .

test: install chromium libreoffice bpmn-check lint
	$(BIN)/python -m pytest -q

# Only the reliability proofs (tests/reliability; `make test` runs them with everything else).
reliability: install
	$(BIN)/python -m pytest -q -m reliability tests/reliability

bench: install
	$(BIN)/python bench/step_cost.py
	$(BIN)/python bench/api.py
