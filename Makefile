# The two commands of the README: `make demo` and `make test`. Both create or reuse .venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.semiocr-installed
DEMO_DIR ?= demo_output
DEMO_ARGS ?=

.PHONY: install test test-fast demo lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first and pinned: the CPU wheel; an unpinned torch would pull CUDA packages.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	# opencv-python (required by rapidocr_onnxruntime) and opencv-python-headless share the `cv2` folder: the
	# headless build, installed last, owns it (same pinned version; no Qt/X11 libraries loaded).
	$(PY) -m pip install -q --no-deps --force-reinstall "$$(grep -m1 -o 'opencv-python-headless==[0-9.]*' pyproject.toml)"
	$(PY) -m pip check
	touch $(STAMP)

install: $(STAMP)

test: install
	$(PY) -m ruff check
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow"

demo: install
	$(VENV)/bin/semiocr demo --out $(DEMO_DIR) $(DEMO_ARGS)

lint: install
	$(PY) -m ruff check

clean:
	rm -rf $(DEMO_DIR) .pytest_cache
