# Pin map and timing of the seal sleeve (ESP32 DevKit wiring).
#
# The lock is a fail-secure solenoid: energised = open, so the pin must read 0
# at reset. GPIO 25 has no strapping role and a board pull-down keeps it low
# while the chip boots, before this firmware drives it.
from micropython import const

LOCK_PIN = const(25)
PRESS_PIN = const(26)  # microswitch under the seal face, to GND, internal pull-up
TAMPER_PIN = const(27)  # case switch, closed (to GND) while the sleeve is shut
CAMERA_PIN = const(33)  # trigger line to the desk camera

LOOP_MS = const(5)  # main loop period
DEBOUNCE_MS = const(20)  # a switch level must hold this long to count
CAMERA_PULSE_MS = const(15)
WDT_MS = const(4000)  # watchdog timeout; the loop feeds it every LOOP_MS
RESEND_MS = const(2000)  # resend unacknowledged events after this silence
ANNOUNCE_MS = const(3000)  # repeat the boot announcement until the edge says hello

MAX_LINE = const(600)  # longest frame on the wire, in bytes
MAX_PRESSES = const(100)  # most presses one grant may allow
MAX_VALID_S = const(86400)  # longest validity of one grant
EVENT_CAPACITY = const(200)  # unacknowledged events kept in flash
COMPACT_AFTER = const(64)  # acknowledged lines tolerated in the log before it is rewritten
