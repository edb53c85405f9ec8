# The two commands a newcomer types: `make demo` and `make test`.
PYTHON ?= python3
DEV := .dev
STAMP := $(DEV)/installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
WITH_ENV := set -a && . ./$(DEV)/env && set +a &&

.PHONY: install services services-down demo test bench bench-smoke docs clean

$(STAMP): pyproject.toml
	@mkdir -p $(DEV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -e ".[test,bench]"
	@rm -f $(DEV)/installed-* && touch $@

install: $(STAMP)

services: install
	$(PYTHON) scripts/devservices.py up

services-down:
	$(PYTHON) scripts/devservices.py down

test: services
	$(WITH_ENV) $(PYTHON) -m pytest $(PYTEST_ARGS)

# The benchmarks (benchmarks/README.md): results in benchmarks/results/, charts also in docs/img/benchmarks/.
# BENCH_SIZE=small|default|large; DUALDB_MONGO_URL=mongodb://... make bench runs against a real MongoDB.
BENCH_SIZE ?= default
BENCH_MONGO_URL := $(DUALDB_MONGO_URL)

bench: services
	$(WITH_ENV) $(if $(BENCH_MONGO_URL),DUALDB_MONGO_URL='$(BENCH_MONGO_URL)') $(PYTHON) -m benchmarks --size $(BENCH_SIZE)

# Every scenario at the small size, in seconds; the same test runs in `make test`.
bench-smoke: services
	$(WITH_ENV) $(PYTHON) -m pytest -q tests/test_benchmarks.py $(PYTEST_ARGS)

demo: services
	@$(WITH_ENV) $(PYTHON) scripts/demo.py

clean: services-down
	rm -rf $(DEV)
