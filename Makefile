# make run   — set up .venv (first time) and run the main job on the built-in synthetic data
# make test  — set up .venv (first time) and run the test suite (what CI runs)
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin

.PHONY: setup run test bench
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned: this build is on the machine's disk (a newer one is a multi-GB download)
	$(BIN)/python -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

run: setup
	$(BIN)/privbench run --method au --rnn bigru

test: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python benchmarks/au_speed.py
