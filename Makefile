# Switchboard developer tasks. Every setup step is idempotent and fast once done.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
SETUP := packaging/setup
BIN := .venv/bin
MANAGED := label=io.switchboard.managed=true

.PHONY: setup venv run test lint bench clean-containers

setup:
	@$(SETUP)/system.sh
	@$(SETUP)/dockerd.sh
	@$(SETUP)/base_image.sh
	@$(SETUP)/python_env.sh
	@$(SETUP)/ollama.sh install
	@$(SETUP)/ollama.sh start
	@$(SETUP)/ollama.sh model
	@$(SETUP)/llama.sh install
	@$(SETUP)/llama.sh model
	@$(SETUP)/llama.sh start

venv:
	@$(SETUP)/python_env.sh

run: setup
	$(BIN)/switchboard gui

# Pytest exit 5 means no tests ran; it fails the target with a message. .ci/run reads the
# exit code from $SWITCHBOARD_PYTEST_RC when set.
test: export QT_QPA_PLATFORM := offscreen
test: export SWITCHBOARD_TEST_POSTGRES_URL := $(shell $(SETUP)/postgres.sh url)
test: setup
	@$(SETUP)/postgres.sh start
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy app/engine
	$(BIN)/mypy --explicit-package-bases tests/gui/test_facade_conformance.py
	@rc=0; $(BIN)/python -m pytest $(PYTEST_ARGS) || rc=$$?; \
	  if [ -n "$${SWITCHBOARD_PYTEST_RC:-}" ]; then echo "$$rc" > "$$SWITCHBOARD_PYTEST_RC"; fi; \
	  if [ "$$rc" -eq 5 ]; then echo "make test: pytest collected no tests (exit 5)" >&2; fi; \
	  exit "$$rc"

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy app/engine
	$(BIN)/mypy --explicit-package-bases tests/gui/test_facade_conformance.py

bench: setup
	@shopt -s nullglob; for f in bench/*.py; do echo "== $$f"; $(BIN)/python "$$f"; done

clean-containers:
	docker ps -aq --filter $(MANAGED) | xargs -r docker rm -f
	docker network ls -q --filter $(MANAGED) | xargs -r docker network rm
	docker volume ls -q --filter $(MANAGED) | xargs -r docker volume rm
