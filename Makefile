# The two commands of the README: `make demo` and `make test`. Both create or reuse .venv.
# `make test` runs every test with SQLite; with SEMIOCR_TEST_POSTGRES_URL set (an admin URL of a PostgreSQL server,
# e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres; .ci/run starts one) it then runs the platform and API
# tests again against PostgreSQL (`make test-postgres`). SEMIOCR_TEST_RAY=1 adds the Ray executor tests (a local
# Ray head that the tests start and stop).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.semiocr-installed
DEMO_DIR ?= demo_output
DEMO_ARGS ?=

# the extras the tests need (dev tools, the PostgreSQL driver, Ray), all pinned in pyproject.toml
EXTRAS ?= dev,postgres,ray

.PHONY: install test test-postgres test-fast demo lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first and pinned: the CPU wheel; an unpinned torch would pull CUDA packages.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	# opencv-python (required by rapidocr_onnxruntime) and opencv-python-headless share the `cv2` folder: the
	# headless build, installed last, owns it (same pinned version; no Qt/X11 libraries loaded).
	$(PY) -m pip install -q --no-deps --force-reinstall "$$(grep -m1 -o 'opencv-python-headless==[0-9.]*' pyproject.toml)"
	$(PY) -m pip check
	touch $(STAMP)

install: $(STAMP)

test: install
	$(PY) -m ruff check
	env -u SEMIOCR_TEST_POSTGRES_URL $(PY) -m pytest -q
	if [ -n "$$SEMIOCR_TEST_POSTGRES_URL" ]; then $(MAKE) --no-print-directory test-postgres; fi

# The tests of the platform's database (runs, scheduler, executors, marks, the API) against PostgreSQL: each test
# gets a fresh database on the server of SEMIOCR_TEST_POSTGRES_URL, dropped after it.
test-postgres: install
	@test -n "$$SEMIOCR_TEST_POSTGRES_URL" || { echo "test-postgres: set SEMIOCR_TEST_POSTGRES_URL" \
		"(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres)" >&2; exit 2; }
	$(PY) -m pytest -q tests/platform tests/api

test-fast: install
	$(PY) -m pytest -q -m "not slow"

demo: install
	$(VENV)/bin/semiocr demo --out $(DEMO_DIR) $(DEMO_ARGS)

lint: install
	$(PY) -m ruff check

clean:
	rm -rf $(DEMO_DIR) .pytest_cache
