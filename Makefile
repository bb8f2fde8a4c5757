# tevatron_ext — `make demo` and `make test` each install everything into .venv/ first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
CLI    := $(VENV)/bin/tevatron-ext
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: venv demo test test-all lint clean

venv: $(STAMP)

$(STAMP): requirements.txt constraints.txt setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements.txt -c constraints.txt
	$(PY) -m pip install -q --no-deps -e .
	@touch $(STAMP)

demo: venv
	$(CLI) models prepare multilingual-e5-small gemma-3-270m
	$(CLI) recipe run scripts/recipes/demo.yaml
	$(CLI) recipe report scripts/recipes/demo.yaml --print

# Fast tests always; slow ones (real models, training) too when CI is set or SLOW=1.
test: venv
	$(PY) -m pytest -q -m "not slow"
	@if [ -n "$${CI:-}$${SLOW:-}" ]; then $(PY) -m pytest -q -m slow; fi

test-all: venv
	$(PY) -m pytest -q

lint: venv
	$(VENV)/bin/ruff check tevatron_ext tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
