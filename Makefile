# Two commands set everything up on a fresh machine:
#   make run   — create .venv, install, run the main job on the bundled default suite
#   make test  — create .venv, install with test extras, run the test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install clean bench

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

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	for f in benchmarks/*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) mlflow.db mlartifacts .harness-cache
