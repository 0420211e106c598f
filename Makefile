# olive: everyday commands. `make help` lists them.
# Everything runs in .venv (made by `make install`); override with `make PYTHON=python3.12 install`.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_WORKERS ?= 2
PREFIX ?= /opt/olive
SYSTEMD_DIR ?= /etc/systemd/system
CONFIG_DIR ?= /etc/olive

.PHONY: help install demo test fuzz lint docs dist install-service clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python  ## a venv with olive (editable) and everything to test, lint, document and package it
	$(BIN)/pip install -q -e '.[test,docs,release]'

demo: $(BIN)/python  ## the demo campaign against the simulated Asterisk
	$(BIN)/olive demo

test: $(BIN)/python  ## the whole suite, as CI runs it (deterministic)
	$(BIN)/pytest -n $(PYTEST_WORKERS)

fuzz: $(BIN)/python  ## a longer randomized search: hypothesis and schemathesis with fresh examples
	$(BIN)/pytest -n $(PYTEST_WORKERS) --randomized tests/api/test_schemathesis_sqlite.py tests/test_contacts_import.py tests/compliance/test_dnc.py

lint: $(BIN)/python  ## ruff and mypy --strict
	$(BIN)/ruff check src tests
	$(BIN)/mypy

docs: $(BIN)/python  ## the documentation site in site/, strictly (a broken link fails)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

dist: $(BIN)/python  ## sdist and wheel in dist/, checked with twine
	rm -rf dist build
	$(BIN)/python -m build --sdist --wheel --outdir dist .
	$(BIN)/twine check --strict dist/*

install-service:  ## install the systemd unit and its environment file (run as root; see docs/deployment.md)
	install -d $(CONFIG_DIR)
	test -e $(CONFIG_DIR)/olive.env || install -m 0640 deploy/systemd/olive.env $(CONFIG_DIR)/olive.env
	install -m 0644 deploy/systemd/olive.service $(SYSTEMD_DIR)/olive.service
	systemctl daemon-reload
	@echo "Edit $(CONFIG_DIR)/olive.env, then: systemctl enable --now olive"

clean:  ## remove build output
	rm -rf build dist site *.egg-info src/*.egg-info
