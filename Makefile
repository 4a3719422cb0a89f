# Two entry points for a fresh Debian / Raspberry Pi OS machine:
#   make demo   set up, then run the whole seal loop on the simulated board
#   make test   set up, then run the test suite
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TYPINGS := typings
TYPINGS_STAMP := $(TYPINGS)/.installed
NODE_DIR := tests/micropython
NODE_STAMP := $(NODE_DIR)/node_modules/.installed
# Debian packages the system and its tests need (installed when run as root). libtesseract-dev and
# libleptonica-dev: tesserocr is built against Debian's Tesseract (its wheel bundles another one).
# nodejs/npm run the firmware tests in real MicroPython (WebAssembly). npm only
# when there is no npm command: NodeSource's nodejs bundles npm and conflicts
# with Debian's npm package, so asking apt for it there would fail.
APT_PACKAGES := python3-venv python3-dev build-essential postgresql nodejs $(if $(shell command -v npm),,npm) chromium tesseract-ocr tesseract-ocr-chi-sim libtesseract-dev libleptonica-dev pkg-config opencv-data fonts-wqy-microhei fonts-arphic-gbsn00lp

.PHONY: demo test bench system-packages setup

demo: setup
	$(VENV)/bin/qinglian demo --serve --data data/demo

# -rs: why anything was skipped; tests/conftest.py fails the run on any skip and prints the count.
test: setup
	$(PY) -m pytest -q -rs

bench: setup
	$(PY) benchmarks/bench_device.py
	$(PY) benchmarks/bench_ledger.py
	$(PY) benchmarks/bench_edge.py
	$(PY) benchmarks/bench_edge.py --pin-cpu 0 --ocr-workers 2
	$(PY) benchmarks/bench_edge.py --pin-cpu 0 --ocr-workers 2 --ocr-anywhere
	$(PY) benchmarks/bench_micropython.py
	$(PY) benchmarks/bench_flash.py
	$(PY) benchmarks/bench_web.py
	$(PY) benchmarks/bench_central.py
	$(PY) benchmarks/bench_bidding.py
	$(PY) benchmarks/bench_ocr.py
	$(PY) benchmarks/bench_impression.py --photos 64
	$(PY) benchmarks/bench_impression.py --page demo --photos 48 --presses 3
	$(PY) benchmarks/bench_sweep.py

setup: system-packages $(STAMP) $(NODE_STAMP) $(TYPINGS_STAMP)

system-packages:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
		if [ -n "$$missing" ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		fi; \
	fi

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --no-binary tesserocr -e '.[test]'
	touch $@

# MicroPython for WebAssembly, pinned in tests/micropython/package-lock.json.
$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	npm ci --prefix $(NODE_DIR) --no-audit --no-fund
	touch $@

# MicroPython's ESP32 stubs, for type-checking the firmware: in a folder of their
# own, since in the venv they would shadow real packages (their `requests`, ...).
$(TYPINGS_STAMP): $(STAMP)
	$(PY) -m pip install -q --target $(TYPINGS) micropython-esp32-esp32-generic-stubs==1.29.0.post1
	touch $@
