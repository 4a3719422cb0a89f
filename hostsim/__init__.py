"""hostsim: a simulated ESP32 seal board that runs the real firmware under CPython.

``device`` supervises one board: it serves the UART and a JSON control port and
runs the firmware in a child process (``board``) so that a power cut is a real
SIGKILL in the middle of whatever the firmware was doing. ``mpy`` holds the
host implementations of the MicroPython modules the firmware imports.
"""
