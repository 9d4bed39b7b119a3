"""An idle CPU's guest spin (proc/haltpoll.py), adjusted as Linux's cpuidle-haltpoll
governor adjusts its poll limit (adjust_poll_limit, with the module's default parameters)."""
from moss_host.proc import haltpoll as H

US = 1_000


def idle_for(hp, block_ns, at=1_000_000_000):
    """One idle period of block_ns; the spin it was given, in ticks."""
    ticks = hp.idle(at)
    hp.woke(at + block_ns)
    return ticks


def test_it_starts_without_a_spin_and_grows_while_wake_ups_come_soon():
    hp = H.HaltPoll()
    assert idle_for(hp, 30 * US) == 0
    assert hp.limit_ns == H.GROW_START_NS               # at least grow_start
    idle_for(hp, 80 * US)
    assert hp.limit_ns == 100 * US                      # doubled
    idle_for(hp, 150 * US)
    assert hp.limit_ns == H.GUEST_HALT_POLL_NS          # (200 us at most)
    assert idle_for(hp, 10 * US) == H.GUEST_HALT_POLL_NS * 62_500_000 // 1_000_000_000


def test_a_wake_up_inside_the_spin_keeps_it_and_a_long_idle_halves_it_down_to_none():
    hp = H.HaltPoll()
    hp.limit_ns = 200 * US
    idle_for(hp, 120 * US)
    assert hp.limit_ns == 200 * US                      # the spin caught it: no change
    idle_for(hp, 5_000 * US)
    assert hp.limit_ns == 100 * US
    idle_for(hp, 5_000 * US)
    assert hp.limit_ns == 50 * US
    idle_for(hp, 5_000 * US)
    assert hp.limit_ns == 0                             # below grow_start: none


def test_disabled_it_never_spins():
    hp = H.HaltPoll(enabled=False)
    for _ in range(5):
        assert idle_for(hp, 30 * US) == 0
    assert hp.limit_ns == 0
