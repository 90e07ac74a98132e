# The habits of this project. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install run test test-all lint bench clean

install: $(STAMP)

# Reinstall only when the declared dependencies change; otherwise `make install` is a no-op.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[sweep,dev]'
	touch $(STAMP)

run: install
	$(VENV)/bin/rnn-exp

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

test: lint
	$(VENV)/bin/pytest -q

test-all: lint
	$(VENV)/bin/pytest -q -m "slow or not slow"

# Each prints its measured figures and ratios side by side; run on a quiet machine.
bench: install
	$(PY) benchmarks/sweep_overhead.py
	$(PY) benchmarks/load_runs.py
	$(PY) benchmarks/train_overhead.py
	$(PY) benchmarks/resume_overhead.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
