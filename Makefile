# Two commands do all set-up on a fresh clone: `make run` and `make test`.
# Each creates .venv on first use and installs the exact versions in requirements.lock.
# The first Python >= 3.12 on PATH, else pyenv's; `make PYTHON=/path/to/python3.x` chooses one.
CANDIDATES := python3.14 python3.13 python3.12 python3 \
	$(sort $(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3))
PYTHON ?= $(firstword $(foreach p,$(CANDIDATES),$(shell $(p) -c \
	'import sys; print(sys.version_info >= (3, 12))' 2>/dev/null | grep -qx True && echo $(p))))
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run app test test-fast browser lint format bench lock clean

$(STAMP): pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || { echo "make: no Python >= 3.12 found (on PATH or in ~/.pyenv): install one, or run make PYTHON=/path/to/python3.12"; exit 1; }
	$(PYTHON) -m venv --clear $(VENV)  # --clear: an old venv of another Python is rebuilt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)  ## the default Rwanda TPN scenario, summary table on stdout
	$(BIN)/tpn-sim

app: $(STAMP)  ## the what-if page on http://127.0.0.1:8765/
	$(BIN)/tpn-sim-app

test: $(STAMP) browser  ## the whole test suite, slow end-to-end tests included
	$(BIN)/python -m pytest

browser:  ## Debian's chromium, which the app's browser tests drive (Playwright cannot download its own here)
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "make: no chromium, and apt-get cannot install it here: the browser tests are skipped (CI fails them)"; }

test-fast: $(STAMP)  ## the edit-test loop: every module, without the slow end-to-end tests and SLURM
	$(BIN)/python -m pytest -m "not slow and not slurm"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)  ## the figures of benchmarks/BASELINE.md: Mesa's virus_on_network, scale, files, calibration
	$(BIN)/python benchmarks/bench_model.py
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_inputs.py
	$(BIN)/python benchmarks/bench_calibration.py

lock: $(STAMP)  ## re-pin requirements.lock to what the venv holds
	{ echo "# Exact versions for Python 3.12 and 3.13 (runtime and dev). Regenerate with: make lock"; \
	  $(BIN)/python -m pip list --format=freeze --exclude-editable --disable-pip-version-check \
	  | grep -viE "^(pip|setuptools|twinning-sim)=="; } > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
