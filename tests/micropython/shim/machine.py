# `machine` for the WebAssembly MicroPython port, which has no `machine` module.
#
# Why this shim exists: the webassembly/pyscript build of MicroPython has no
# hardware, so `import machine` fails there. The firmware needs Pin (with IRQs),
# WDT, Timer, reset, reset_cause, unique_id and the reset-cause constants. Names
# and numeric values follow the ESP32 port (ports/esp32/machine_pin.c,
# machine_timer.c, modmachine.h).
#
# Test-side controls (not part of the device API, all prefixed `sim_`):
#   sim_reset()            forget every pin, watchdog, reset cause and unique id
#   sim_drive(pin, level)  set the level on an input pin, firing its IRQ handler
#                          on an edge that matches its trigger, as the GPIO would
#   sim_level(pin)         the level a pin is at (what a scope would show)
#   sim_pin(pin)           the shared state of one GPIO
#   sim_set_reset_cause(c), sim_set_unique_id(b)
#   sim_wdts               every WDT created since sim_reset()
#   sim_timers             every Timer created since sim_reset(); a test fires
#                          one with timer.sim_fire() (nothing runs them by itself)
# reset() raises Reset (a BaseException, so no `except Exception` in the firmware
# can swallow it: on the device it never returns).
import time

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

# GPIOs an ESP32-WROOM module exposes; 34..39 are inputs only.
_VALID_PINS = tuple(range(0, 6)) + tuple(range(12, 20)) + (21, 22, 23, 25, 26, 27) + tuple(range(32, 40))
_INPUT_ONLY = tuple(range(34, 40))


class Reset(BaseException):
    """machine.reset() was called: the board would restart here."""


class WatchdogReset(Reset):
    """The watchdog was fed later than its timeout: the board would have restarted."""


class _Gpio:
    """One physical pin, shared by every Pin object made for it."""

    def __init__(self, no):
        self.no = no
        self.mode = None
        self.pull = None
        self.driven = None  # level driven from outside (the test), None = floating
        self.out = 0  # output latch
        self.handler = None
        self.trigger = 0
        self.pin = None  # the Pin object the IRQ was registered through
        self.irqs = 0  # handler calls

    def level(self):
        if self.mode == Pin.OUT or self.mode == Pin.OPEN_DRAIN:
            return self.out
        if self.driven is not None:
            return self.driven
        return 1 if self.pull == Pin.PULL_UP else 0


_gpios = {}
_reset_cause = PWRON_RESET
_unique_id = b"\x24\x0a\xc4\x00\x00\x01"
sim_wdts = []
sim_timers = []


def _gpio(no):
    g = _gpios.get(no)
    if g is None:
        g = _gpios[no] = _Gpio(no)
    return g


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_DOWN = 1
    PULL_UP = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, *, value=None):
        if type(id) is not int or id not in _VALID_PINS:
            raise ValueError("invalid pin")
        self._g = g = _gpio(id)
        if mode != -1:
            if mode in (Pin.OUT, Pin.OPEN_DRAIN) and id in _INPUT_ONLY:
                raise ValueError("pin can only be input")
            g.mode = mode
        if pull != -1:
            g.pull = pull
        if value is not None:
            g.out = 1 if value else 0

    def value(self, *args):
        if not args:
            return self._g.level()
        self._g.out = 1 if args[0] else 0
        return None

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def __call__(self, *args):
        return self.value(*args)

    def irq(self, handler=None, trigger=3, hard=False):
        g = self._g
        g.handler = handler
        g.trigger = trigger
        g.pin = self

    def __repr__(self):
        return "Pin(%d)" % self._g.no


class WDT:
    """Counts feeds; a feed later than the timeout (on time.ticks_ms) raises WatchdogReset."""

    def __init__(self, id=0, timeout=5000):
        if timeout < 1:
            raise ValueError("WDT timeout too short")
        self.timeout = timeout
        self.feeds = 0
        self._fed = time.ticks_ms()
        sim_wdts.append(self)

    def feed(self):
        now = time.ticks_ms()
        if time.ticks_diff(now, self._fed) > self.timeout:
            raise WatchdogReset("watchdog not fed for %d ms" % time.ticks_diff(now, self._fed))
        self._fed = now
        self.feeds += 1


class Timer:
    """An ESP32 hardware timer. Callbacks run only when a test calls sim_fire()."""

    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id, **kwargs):
        if type(id) is not int or not 0 <= id <= 3:
            raise ValueError("invalid Timer number")
        self.id = id
        self.mode = None
        self.period = None
        self.callback = None
        self.fired = 0
        sim_timers.append(self)
        if kwargs:
            self.init(**kwargs)

    def init(self, *, mode=PERIODIC, period=-1, callback=None, freq=-1):
        if freq > 0:
            period = 1000 // freq
        if period < 0:
            raise ValueError("period or freq required")
        self.mode = mode
        self.period = period
        self.callback = callback

    def deinit(self):
        self.callback = None
        self.mode = None

    def value(self):
        return 0

    def sim_fire(self):
        """The timer expires: run its callback once, as the scheduler would."""
        if self.mode is None:
            raise AssertionError("Timer(%d) fired while not running" % self.id)
        cb = self.callback
        if self.mode == Timer.ONE_SHOT:
            self.mode = None
        self.fired += 1
        if cb is not None:
            cb(self)


def reset():
    raise Reset("machine.reset()")


def soft_reset():
    raise Reset("machine.soft_reset()")


def reset_cause():
    return _reset_cause


def unique_id():
    return _unique_id


def freq():
    return 240000000


# -- test controls ------------------------------------------------------------


def sim_reset():
    global _reset_cause, _unique_id
    _gpios.clear()
    sim_wdts.clear()
    sim_timers.clear()
    _reset_cause = PWRON_RESET
    _unique_id = b"\x24\x0a\xc4\x00\x00\x01"


def sim_pin(no):
    return _gpio(no)


def sim_level(no):
    return _gpio(no).level()


def sim_drive(no, level):
    """Drive an input pin from outside; returns True if an IRQ handler ran."""
    g = _gpio(no)
    before = g.level()
    g.driven = 1 if level else 0
    after = g.level()
    if before == after or g.handler is None:
        return False
    edge = Pin.IRQ_RISING if after else Pin.IRQ_FALLING
    if not g.trigger & edge:
        return False
    g.irqs += 1
    g.handler(g.pin)
    return True


def sim_set_reset_cause(cause):
    global _reset_cause
    _reset_cause = cause


def sim_set_unique_id(uid):
    global _unique_id
    _unique_id = uid
