# The camera trigger: one pulse of CAMERA_PULSE_MS per press, ended by the main loop.
import time

from board import CAMERA_PULSE_MS
from machine import Pin


class Trigger:
    def __init__(self, pin_no):
        self._pin = Pin(pin_no, Pin.OUT, value=0)
        self._until = 0
        self._high = False

    def pulse(self, now):
        self._pin.value(1)
        self._high = True
        self._until = time.ticks_add(now, CAMERA_PULSE_MS)

    def poll(self, now):
        if self._high and time.ticks_diff(now, self._until) >= 0:
            self._pin.value(0)
            self._high = False
