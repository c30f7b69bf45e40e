# Two commands set everything up on a fresh machine:
#   make run   — create .venv, install, run the main job on the bundled default suite
#   make test  — create .venv, install with test extras (and chromium for the browser tests), run the tests
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The study app's browser tests (tests/test_collect_browser.py) drive Debian's chromium through its
# chromedriver, offline. Installed with apt once; nothing is done when both are already there.
CHROMIUM := /usr/bin/chromium
CHROMEDRIVER := /usr/bin/chromedriver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-cluster install clean bench browser gpu-check

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# CPU torch first: a plain `torch` requirement would resolve a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/harness run-benchmark --suite portraittest

browser:
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then :; else \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; fi

# Two pytest processes, whole files each (--dist loadfile: a file's module fixtures are built once; files that
# share a session fixture together, tests/conftest.py); every Ray test asks for its own local cluster with
# explicit num_cpus, so the two never share one.
test: $(STAMP) browser
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not cluster"

# The cluster tests (two Ray nodes, S3 emulated on 127.0.0.1, a real MLflow server): slower; CI runs them too.
test-cluster: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m cluster

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) mlflow.db mlartifacts .harness-cache

# On a machine with NVIDIA GPUs: torch sees them, learned methods as Ray GPU actors equal the CPU's results,
# full-size IPH training throughput and utilisation, run-efficiency on the GPU (under 8 minutes).
gpu-check: $(STAMP)
	$(BIN)/python benchmarks/gpu_check.py
