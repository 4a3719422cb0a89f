# The solenoid lock, fail-secure: the pin is driven low (locked) the moment this
# object exists, and only `open` energises it. Power loss, reset or crash all
# leave the pin undriven or low, which is locked.
from machine import Pin


class Lock:
    def __init__(self, pin_no):
        self._pin = Pin(pin_no, Pin.OUT, value=0)

    def open(self):
        self._pin.value(1)

    def close(self):
        self._pin.value(0)

    def is_open(self):
        return self._pin.value() == 1
