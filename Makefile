# The two commands a newcomer types: `make demo` and `make test`.
PYTHON ?= python3
DEV := .dev
STAMP := $(DEV)/installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
WITH_ENV := set -a && . ./$(DEV)/env && set +a &&

.PHONY: install services services-down demo test docs clean

$(STAMP): pyproject.toml
	@mkdir -p $(DEV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -e ".[test,docs]"
	@rm -f $(DEV)/installed-* && touch $@

install: $(STAMP)

services: install
	$(PYTHON) scripts/devservices.py up

services-down:
	$(PYTHON) scripts/devservices.py down

test: services
	$(WITH_ENV) $(PYTHON) -m pytest $(PYTEST_ARGS)
	$(PYTHON) -m mkdocs build --strict --quiet --site-dir $(DEV)/site

# The bookstore example (example/) on 127.0.0.1:8000 with sample data; Ctrl-C stops it.
demo: services
	@$(WITH_ENV) $(PYTHON) scripts/demo.py

# The documentation site, served with live reload on 127.0.0.1:8001.
docs: install
	$(PYTHON) -m mkdocs serve --dev-addr 127.0.0.1:8001

clean: services-down
	rm -rf $(DEV)
