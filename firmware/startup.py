# What a reset leads to: the seal, or (factory-fresh or in a maintenance
# window) the REPL.
#
# A provisioned seal disables Ctrl-C and never returns to the REPL on its own:
# the REPL could drive the lock pin directly. It hands the UART to the REPL
# only when the edge opens an authenticated maintenance window, which a
# timer closes with a reset; any reset closes it too, since a reset comes
# back here. Every error resets the board, and a reset leaves the lock
# unpowered, which is locked.
import machine
import micropython

import identity

seal = None  # the running Seal, for hostsim and a maintenance session to inspect

_TICK_MS = 1000


def _maintenance_timer(seconds):
    # The watchdog, once started, cannot be stopped: feed it while the window
    # is open, and reset when the window's time is up.
    wdt = machine.WDT(timeout=4000)
    state = {"left": seconds}

    def tick(_timer):
        state["left"] -= 1
        if state["left"] <= 0:
            machine.reset()
        wdt.feed()

    timer = machine.Timer(0)
    timer.init(mode=machine.Timer.PERIODIC, period=_TICK_MS, callback=tick)
    return timer


def run():
    global seal
    ident = identity.load()
    if ident is None:
        micropython.kbd_intr(3)  # boot.py turned it off; the technician's REPL needs it
        return  # factory-fresh: the REPL stays open until the device is provisioned
    micropython.kbd_intr(-1)
    try:
        import app
        from link import StdioPort

        seal = app.Seal(ident[0], ident[1], StdioPort())
        seconds = seal.run()
    except BaseException:
        machine.reset()
    # run() returned: the edge opened a maintenance window.
    _maintenance_timer(seconds)
    micropython.kbd_intr(3)
