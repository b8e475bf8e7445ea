# Two commands do everything on a fresh clone:
#   make demo   set up .venv and run the daily job on the bundled sample feed -> out/
#   make test   set up .venv and run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint setup system clean

setup: $(STAMP) system

# Chromium for the browser tests of report.html and LibreOffice Calc for the spreadsheet test of
# the CSVs (Debian packages; need root, as CI and our machines are). Without them those tests are
# skipped on a developer's machine and fail under CI=true.
system:
	@missing=""; [ -x /usr/bin/chromium ] || missing="chromium"; \
	[ -x /usr/bin/soffice ] || missing="$$missing libreoffice-calc"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing$$missing for the browser and spreadsheet tests (apt-get)"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	else \
		echo "NOTE:$$missing missing, and installing needs root on Debian/Ubuntu:" \
			"sudo apt-get install -y$$missing. Until then the browser and spreadsheet tests are" \
			"skipped (under CI=true they fail)." >&2; \
	fi

# torch==2.13.0 first: that pin takes the CPU build on local disk; anything else pulls GBs of CUDA.
# The ray extra is installed so the test suite runs the Ray engine (tests/pipeline/test_ray_engine.py), the
# int8 extra so it runs the int8 embedding backend (tests/embed/test_use_int8.py).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev,ray,int8]'
	touch $(STAMP)

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/detector -v run --config configs/default.toml \
		--input data/sample/feed_2024.csv --out out
	@echo "Reports: out/report.html out/flags.csv out/members.csv out/themes.csv out/manifest.json"

test: $(STAMP) system
	HF_HUB_OFFLINE=1 bash scripts/pytest.sh

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache
