# Two commands do everything on a fresh clone:
#   make demo   set up .venv and run the daily job on the bundled sample feed -> out/
#   make test   set up .venv and run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint setup clean

# Chromium (for the browser test of report.html) is not installed here: that needs root. See
# docs/reports.md; without it that test is skipped.
setup: $(STAMP)

# torch==2.13.0 first: that pin takes the CPU build on local disk; anything else pulls GBs of CUDA.
# The ray extra is installed so the test suite runs the Ray engine (tests/test_ray_engine.py), the
# int8 extra so it runs the int8 embedding backend (tests/test_use_int8.py).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev,ray,int8]'
	touch $(STAMP)

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/detector -v run --config configs/default.toml \
		--input data/sample/feed_2024.csv --out out
	@echo "Reports: out/report.html out/flags.csv out/members.csv out/manifest.json"

test: $(STAMP)
	HF_HUB_OFFLINE=1 bash scripts/pytest.sh

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache
