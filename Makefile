# The two commands a newcomer types: `make demo` and `make test`.
PYTHON ?= python3
DEV := .dev
STAMP := $(DEV)/installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
WITH_ENV := set -a && . ./$(DEV)/env && set +a &&

.PHONY: install services services-down demo test soak bench bench-smoke docs clean

$(STAMP): pyproject.toml
	@mkdir -p $(DEV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -e ".[test,bench,docs]"
	@rm -f $(DEV)/installed-* && touch $@

install: $(STAMP)

services: install
	$(PYTHON) scripts/devservices.py up

services-down:
	$(PYTHON) scripts/devservices.py down

test: services
	$(WITH_ENV) $(PYTHON) -m pytest $(PYTEST_ARGS)
	NO_MKDOCS_2_WARNING=1 $(PYTHON) -m mkdocs build --strict --quiet --site-dir $(DEV)/site

# The long reliability runs, kept out of `make test`: many more random histories, and
# 60 s of writes from 4 processes with a server restart (figures in .dev/load-report.json).
soak: services
	$(WITH_ENV) DUALDB_SOAK=1 DUALDB_LOAD_SECONDS=60 DUALDB_LOAD_WRITERS=4 \
		DUALDB_LOAD_REPORT=$(DEV)/load-report.json $(PYTHON) -m pytest tests/test_history.py tests/test_load.py $(PYTEST_ARGS)
	@cat $(DEV)/load-report.json

# The benchmarks (benchmarks/README.md): results in benchmarks/results/, charts also in docs/img/benchmarks/.
# BENCH_SIZE=small|default|large; DUALDB_MONGO_URL=mongodb://... make bench runs against a real MongoDB.
BENCH_SIZE ?= default
BENCH_MONGO_URL := $(DUALDB_MONGO_URL)

bench: services
	$(WITH_ENV) $(if $(BENCH_MONGO_URL),DUALDB_MONGO_URL='$(BENCH_MONGO_URL)') $(PYTHON) -m benchmarks --size $(BENCH_SIZE)

# Every scenario at the small size, in seconds; the same test runs in `make test`.
bench-smoke: services
	$(WITH_ENV) $(PYTHON) -m pytest -q tests/test_benchmarks.py $(PYTEST_ARGS)

# The bookstore example (example/) on 127.0.0.1:8000 with sample data; Ctrl-C stops it.
demo: services
	@$(WITH_ENV) $(PYTHON) scripts/demo.py

# The documentation site, served with live reload on 127.0.0.1:8001.
docs: install
	$(PYTHON) -m mkdocs serve --dev-addr 127.0.0.1:8001

clean: services-down
	rm -rf $(DEV)
