# MicroPython runs boot.py after every reset, soft ones included (mpremote's
# Ctrl-D), and only then, in the friendly REPL mode, main.py. The seal starts
# here so that no reset of a provisioned device can skip it.
#
# MicroPython turns Ctrl-C on while this script runs, and a laptop on the cable
# can send it in a stream from power-up: an interrupt that lands while the seal
# is still being imported would end boot.py and open the REPL. So Ctrl-C goes
# off before anything else is imported, and one that lands before that resets
# the board (a factory-fresh board comes back to its REPL all the same).
try:
    import micropython

    micropython.kbd_intr(-1)
    import startup
except KeyboardInterrupt:
    import machine

    machine.reset()

startup.run()
