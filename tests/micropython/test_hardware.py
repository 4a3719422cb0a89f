# firmware/switch.py, lock.py and trigger.py inside MicroPython, on the `machine` shim's pins.
import time

import board
import machine
from lock import Lock
from mptest import fake_clock
from mptest import reset as setup_function  # noqa: F401
from switch import Switch
from trigger import Trigger

PRESS = board.PRESS_PIN
TAMPER = board.TAMPER_PIN
PERIOD = 1 << 30


def bounce(clock, pin, levels, gap_ms=1):
    """Drive a pin through `levels`, gap_ms apart, as a bouncing contact does."""
    for level in levels:
        machine.sim_drive(pin, level)
        clock.advance(gap_ms)


def poll_until_change(clock, sw, limit_ms=200):
    """Poll every ms; return (change, ms waited) at the first non-zero result."""
    for waited in range(limit_ms):
        change = sw.poll(clock.now)
        if change:
            return change, waited
        clock.advance(1)
    return 0, limit_ms


def test_press_with_bounce_counts_once_across_the_tick_wrap():
    clock = fake_clock(PERIOD - 10)  # the bounce and the debounce straddle the wrap
    sw = Switch(PRESS, True)
    assert not sw.active  # pull-up, switch open: level 1, not pressed
    bounce(clock, PRESS, [0, 1, 0, 1, 0])  # last edge at PERIOD - 6
    assert machine.sim_pin(PRESS).irqs == 5
    change, waited = poll_until_change(clock, sw)
    assert change == 1 and sw.active
    assert waited == board.DEBOUNCE_MS - 1, waited  # 20 ms after the last edge, not the first
    assert clock.now < 100  # the ticks wrapped meanwhile
    for _ in range(50):
        clock.advance(1)
        assert sw.poll(clock.now) == 0  # held down: nothing more
    bounce(clock, PRESS, [1, 0, 1, 0, 1])
    change, waited = poll_until_change(clock, sw)
    assert change == -1 and not sw.active and waited == board.DEBOUNCE_MS - 1


def test_an_edge_during_debounce_restarts_it():
    clock = fake_clock(1000)
    sw = Switch(PRESS, True)
    machine.sim_drive(PRESS, 0)
    clock.advance(15)
    assert sw.poll(clock.now) == 0
    machine.sim_drive(PRESS, 1)
    clock.advance(15)
    machine.sim_drive(PRESS, 0)  # 30 ms since the first edge, 0 since the last
    assert sw.poll(clock.now) == 0
    clock.advance(19)
    assert sw.poll(clock.now) == 0
    clock.advance(1)
    assert sw.poll(clock.now) == 1


def test_a_glitch_that_settles_back_is_no_change():
    clock = fake_clock(5000)
    sw = Switch(PRESS, True)
    bounce(clock, PRESS, [0, 1])
    clock.advance(30)
    assert sw.poll(clock.now) == 0 and not sw.active
    bounce(clock, PRESS, [0])  # and a real press after it still counts
    clock.advance(20)
    assert sw.poll(clock.now) == 1


def test_active_high_switch():
    clock = fake_clock(0)
    machine.sim_drive(TAMPER, 0)  # case shut: the switch holds the line at GND
    sw = Switch(TAMPER, False)
    assert not sw.active
    bounce(clock, TAMPER, [1, 0, 1])
    clock.advance(20)
    assert sw.poll(clock.now) == 1 and sw.active


def test_switch_on_real_time():
    """No fake clock: MicroPython's own ticks_ms and sleep_ms."""
    sw = Switch(PRESS, True)
    for level in (0, 1, 0):
        machine.sim_drive(PRESS, level)
    assert sw.poll(time.ticks_ms()) == 0
    time.sleep_ms(board.DEBOUNCE_MS + 5)
    assert sw.poll(time.ticks_ms()) == 1


def test_edge_counter_wraps_without_losing_an_edge():
    clock = fake_clock(0)
    sw = Switch(PRESS, True)
    sw._edges = sw._seen = 0xFFFF
    machine.sim_drive(PRESS, 0)
    assert sw._edges == 0
    clock.advance(20)
    assert sw.poll(clock.now) == 1


def polls(clock, sw, count=5):
    """The next `count` poll results, 1 ms apart."""
    seen = []
    for _ in range(count):
        seen.append(sw.poll(clock.now))
        clock.advance(1)
    return seen


def test_a_press_that_ended_before_the_loop_looked_is_still_counted():
    # The loop was busy (a flash erase) through the whole press: it sees only the released line.
    clock = fake_clock(PERIOD - 15)
    sw = Switch(PRESS, True)
    bounce(clock, PRESS, [0, 1, 0])
    clock.advance(40)
    bounce(clock, PRESS, [1, 0, 1])
    clock.advance(30)
    assert polls(clock, sw) == [1, -1, 0, 0, 0] and not sw.active


def test_two_whole_presses_between_polls_are_two_presses():
    clock = fake_clock(0)
    sw = Switch(PRESS, True)
    for _ in range(2):
        machine.sim_drive(PRESS, 0)
        clock.advance(25)
        machine.sim_drive(PRESS, 1)
        clock.advance(25)
    assert polls(clock, sw, 6) == [1, -1, 1, -1, 0, 0]


def test_a_short_glitch_between_polls_is_not_a_press():
    clock = fake_clock(0)
    sw = Switch(PRESS, True)
    machine.sim_drive(PRESS, 0)
    clock.advance(board.DEBOUNCE_MS - 1)
    machine.sim_drive(PRESS, 1)
    clock.advance(30)
    assert polls(clock, sw) == [0, 0, 0, 0, 0]


def test_a_press_the_loop_saw_is_not_reported_again_after_release():
    clock = fake_clock(0)
    sw = Switch(PRESS, True)
    bounce(clock, PRESS, [0, 1, 0])
    assert poll_until_change(clock, sw)[0] == 1
    clock.advance(50)
    bounce(clock, PRESS, [1, 0, 1])
    assert poll_until_change(clock, sw)[0] == -1
    assert polls(clock, sw, 30) == [0] * 30


def test_a_press_held_at_power_on_is_not_counted_on_release():
    clock = fake_clock(0)
    machine.sim_drive(PRESS, 0)
    sw = Switch(PRESS, True)
    assert sw.active
    clock.advance(100)
    machine.sim_drive(PRESS, 1)
    assert poll_until_change(clock, sw)[0] == -1
    assert polls(clock, sw, 30) == [0] * 30


def test_a_press_whose_start_the_irq_misread_leaves_no_phantom():
    clock = fake_clock(0)
    sw = Switch(PRESS, True)
    machine.sim_drive(PRESS, 0)
    sw._armed = False  # as if the contact read inactive inside the IRQ, mid-bounce
    assert poll_until_change(clock, sw)[0] == 1
    clock.advance(30)
    machine.sim_drive(PRESS, 1)
    assert poll_until_change(clock, sw)[0] == -1
    assert polls(clock, sw, 30) == [0] * 30
    machine.sim_drive(PRESS, 0)  # and the next press the loop misses is still counted
    clock.advance(30)
    machine.sim_drive(PRESS, 1)
    clock.advance(30)
    assert polls(clock, sw) == [1, -1, 0, 0, 0]


def test_lock_is_driven_shut_at_once():
    machine.Pin(board.LOCK_PIN, machine.Pin.OUT, value=1)  # left high by whatever ran before
    assert machine.sim_level(board.LOCK_PIN) == 1
    lock = Lock(board.LOCK_PIN)
    assert machine.sim_level(board.LOCK_PIN) == 0 and not lock.is_open()
    lock.open()
    assert machine.sim_level(board.LOCK_PIN) == 1 and lock.is_open()
    lock.close()
    assert machine.sim_level(board.LOCK_PIN) == 0 and not lock.is_open()


def test_camera_pulse_length_across_the_wrap():
    cam = Trigger(board.CAMERA_PIN)
    assert machine.sim_level(board.CAMERA_PIN) == 0
    start = PERIOD - 5
    cam.pulse(start)
    assert machine.sim_level(board.CAMERA_PIN) == 1
    cam.poll(time.ticks_add(start, board.CAMERA_PULSE_MS - 1))
    assert machine.sim_level(board.CAMERA_PIN) == 1
    cam.poll(time.ticks_add(start, board.CAMERA_PULSE_MS))
    assert machine.sim_level(board.CAMERA_PIN) == 0


def test_board_pins_are_valid_esp32_gpios():
    assert len(set((board.LOCK_PIN, board.CAMERA_PIN, board.PRESS_PIN, board.TAMPER_PIN))) == 4  # one job per GPIO
    # The fail-secure lock must read 0 while the chip boots: no strapping pin (0, 2, 5, 12, 15).
    assert board.LOCK_PIN not in (0, 2, 5, 12, 15)
    for no in (board.LOCK_PIN, board.CAMERA_PIN):
        pin = machine.Pin(no, machine.Pin.OUT, value=0)  # the shim refuses input-only GPIOs 34..39
        for level in (1, 0):
            pin.value(level)
            assert machine.sim_level(no) == level
    for no in (board.PRESS_PIN, board.TAMPER_PIN):
        assert no not in range(34, 40)  # 34..39 have no internal pull-up on the ESP32
        machine.Pin(no, machine.Pin.IN, machine.Pin.PULL_UP)
        assert machine.sim_level(no) == 1  # an open switch reads high
