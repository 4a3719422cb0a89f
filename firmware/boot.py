# MicroPython runs boot.py after every reset, soft ones included (mpremote's
# Ctrl-D), and only then, in the friendly REPL mode, main.py. The seal starts
# here so that no reset of a provisioned device can skip it.
import startup

startup.run()
