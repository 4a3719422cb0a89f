# The test_*.py files here run inside MicroPython (node tests/micropython/run.mjs),
# not under CPython: pytest must not collect them. tests/test_micropython_wasm.py
# runs them and reports each one as a pytest test.
collect_ignore_glob = ["*.py"]
