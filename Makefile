# The two commands a newcomer types: `make demo` and `make test`.
PYTHON ?= python3
DEV := .dev
STAMP := $(DEV)/installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
WITH_ENV := set -a && . ./$(DEV)/env && set +a &&

.PHONY: install services services-down demo test soak docs clean

$(STAMP): pyproject.toml
	@mkdir -p $(DEV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -e ".[test]"
	@rm -f $(DEV)/installed-* && touch $@

install: $(STAMP)

services: install
	$(PYTHON) scripts/devservices.py up

services-down:
	$(PYTHON) scripts/devservices.py down

test: services
	$(WITH_ENV) $(PYTHON) -m pytest $(PYTEST_ARGS)

# The long reliability runs, kept out of `make test`: many more random histories, and
# 60 s of writes from 4 processes with a server restart (figures in .dev/load-report.json).
soak: services
	$(WITH_ENV) DUALDB_SOAK=1 DUALDB_LOAD_SECONDS=60 DUALDB_LOAD_WRITERS=4 \
		DUALDB_LOAD_REPORT=$(DEV)/load-report.json $(PYTHON) -m pytest tests/test_history.py tests/test_load.py $(PYTEST_ARGS)
	@cat $(DEV)/load-report.json

demo: services
	@$(WITH_ENV) $(PYTHON) scripts/demo.py

clean: services-down
	rm -rf $(DEV)
