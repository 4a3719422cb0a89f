# Two entry points for a fresh Debian / Raspberry Pi OS machine:
#   make demo   set up, then run the whole seal loop on the simulated board
#   make test   set up, then run the test suite
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Debian packages the system and its tests need (installed when run as root).
APT_PACKAGES := python3-venv python3-dev build-essential

.PHONY: demo test bench system-packages setup

demo: setup
	$(VENV)/bin/qinglian demo --data data/demo

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/bench_device.py
	$(PY) benchmarks/bench_ledger.py

setup: system-packages $(STAMP)

system-packages:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
		if [ -n "$$missing" ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		fi; \
	fi

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[test]'
	touch $@
