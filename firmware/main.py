# Entry point on the device (MicroPython runs main.py after boot.py).
#
# A provisioned seal disables Ctrl-C and never returns to the REPL: the REPL
# could drive the lock pin directly. Any error resets the board, and a reset
# leaves the lock unpowered, which is locked.
import machine
import micropython

import identity

seal = None  # the running Seal, for a maintenance session to inspect


def main():
    global seal
    ident = identity.load()
    if ident is None:
        return  # factory-fresh: the REPL stays open until the device is provisioned
    micropython.kbd_intr(-1)
    try:
        import app
        from link import StdioPort

        seal = app.Seal(ident[0], ident[1], StdioPort())
        seal.run()
    finally:
        machine.reset()


main()
