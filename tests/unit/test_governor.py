"""The contention governor (machine/governor.py): the host's own wait for a CPU per
wake-up, from a schedstat file, decides whether the guest spins for a reply."""
from moss_host.machine import governor as G
from moss_host.machine import layout as L
from moss_host.machine.pressure import CpuPressure


class Schedstat:
    """A fake /proc/thread-self/schedstat, rewritten in place (the governor preads it)."""

    def __init__(self, tmp_path):
        self.path = tmp_path / "schedstat"
        self.wait = self.runs = 0
        self.write()

    def write(self):
        self.path.write_text(f"123456 {self.wait} {self.runs}\n")

    def advance(self, runs, wait_each_ns):
        self.runs += runs
        self.wait += runs * wait_each_ns
        self.write()


def governor(tmp_path, pressure_percent=0.0):
    """A governor whose CPU pressure over the window ending at time 0 is pressure_percent."""
    from moss_host.machine import pressure as P
    psi = tmp_path / "psi"

    def write(total_us):
        psi.write_text(f"some avg10=0.00 avg60=0.00 avg300=0.00 total={total_us}\n"
                       "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    write(0)
    pressure = CpuPressure(str(psi))
    pressure.stalled_percent(-P.MIN_WINDOW_NS)
    write(int(P.MIN_WINDOW_NS * pressure_percent / 100 / 1000))
    stat = Schedstat(tmp_path)
    return G.Governor(str(stat.path), pressure), stat


def test_wait_per_wakeup_needs_enough_wakeups():
    assert G.wait_per_wakeup((0, 0), (1_000_000, 10)) == 100_000
    assert G.wait_per_wakeup((0, 0), (1_000_000, G.MIN_WAKEUPS - 1)) is None


def test_a_host_that_waits_longer_than_the_spin_turns_the_guests_spin_off(tmp_path):
    gov, stat = governor(tmp_path)
    now = 0
    assert not gov.contended(now)
    stat.advance(100, 2 * G.OVERLOADED_WAIT_NS)         # 16 guests on 2 cores: ms per wake-up
    now += G.SAMPLE_NS
    assert gov.contended(now) and gov.overloaded


def test_the_verdict_is_kept_between_samples_and_has_hysteresis(tmp_path):
    gov, stat = governor(tmp_path)
    gov.contended(0)
    stat.advance(100, G.OVERLOADED_WAIT_NS)
    assert gov.contended(G.SAMPLE_NS)
    assert gov.contended(G.SAMPLE_NS + 1)               # not sampled again yet
    stat.advance(100, (G.UNLOADED_WAIT_NS + G.OVERLOADED_WAIT_NS) // 2)
    assert gov.contended(3 * G.SAMPLE_NS)               # between the two thresholds: stays
    stat.advance(100, G.UNLOADED_WAIT_NS // 2)
    assert not gov.contended(4 * G.SAMPLE_NS)
    assert not gov.overloaded


def test_too_few_wakeups_keep_the_last_verdict(tmp_path):
    gov, stat = governor(tmp_path)
    gov.contended(0)
    stat.advance(100, G.OVERLOADED_WAIT_NS * 2)
    assert gov.contended(G.SAMPLE_NS)
    stat.advance(1, 0)
    assert gov.contended(2 * G.SAMPLE_NS)


def test_cpu_pressure_alone_is_contention_without_overload(tmp_path):
    gov, stat = governor(tmp_path, pressure_percent=90.0)
    stat.advance(100, 1_000)
    assert gov.contended(0) and not gov.overloaded


def test_no_schedstat_leaves_the_pressure_reading(tmp_path):
    psi = tmp_path / "psi"
    psi.write_text("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    gov = G.Governor(str(tmp_path / "missing"), CpuPressure(str(psi)))
    assert not gov.contended(0) and not gov.contended(G.SAMPLE_NS)
    assert not gov.available


def test_a_disabled_governor_is_never_contended(tmp_path):
    gov, stat = governor(tmp_path, pressure_percent=99.0)
    gov.enabled = False
    assert not gov.contended(0)


def test_the_real_schedstat_reads_on_this_host():
    gov = G.Governor()
    reading = gov.read_schedstat()
    assert reading is None or (reading[0] >= 0 and reading[1] >= 0)


def test_cpu_pressure_is_the_stall_share_since_the_last_reading_not_avg10(tmp_path):
    from moss_host.machine import pressure as P
    psi = tmp_path / "psi"

    def write(avg10, total_us):
        psi.write_text(f"some avg10={avg10:.2f} avg60=0.00 avg300=0.00 total={total_us}\n")
    write(60.0, 1_000_000)                  # the runs before this one: a high 10 s average
    p = CpuPressure(str(psi))
    assert not p.contended(0)               # no window yet: the first one is measured polling
    write(60.0, 1_000_000 + 1_000)          # 1 ms of stalls in the next 10 ms: 10%
    assert not p.contended(P.MIN_WINDOW_NS)
    write(55.0, 1_001_000 + 30_000)         # 30 ms in the next 50 ms: 60%
    assert not p.contended(P.MIN_WINDOW_NS + P.SAMPLE_NS - 1)     # (cached)
    assert p.contended(P.MIN_WINDOW_NS + P.SAMPLE_NS)


def test_a_gap_in_a_poll_is_a_lost_core_only_if_the_thread_waited_in_a_run_queue(tmp_path):
    gov, stat = governor(tmp_path)
    gov.contended(0)                                    # the sample the gap is measured from
    stat.advance(1, 5_000)                              # 5 us of waiting: not the 100 us gap
    assert not gov.lost_core(100_000)                   # (an interrupt, or the hypervisor)
    stat.advance(1, 95_000)
    assert gov.lost_core(100_000)                       # another task had the core


def test_without_schedstat_every_gap_is_a_lost_core(tmp_path):
    gov = G.Governor(str(tmp_path / "missing"), CpuPressure(str(tmp_path / "psi")))
    assert gov.lost_core(100_000)


def sampled_pressure(tmp_path):
    """A CpuPressure read at time 0, and stalled(percent, now): the next SAMPLE_NS window
    stalled `percent`, then the verdict at `now`."""
    from moss_host.machine import pressure as P
    psi = tmp_path / "psi"
    total = 0

    def stalled(percent, now):
        nonlocal total
        total += int(P.SAMPLE_NS * percent / 100 / 1000)
        psi.write_text(f"some avg10=0.00 avg60=0.00 avg300=0.00 total={total}\n")
        return p.contended(now)
    psi.write_text("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    p = CpuPressure(str(psi))
    assert not p.contended(0)
    return stalled


def test_cpu_pressure_has_hysteresis(tmp_path):
    from moss_host.machine import pressure as P
    stalled = sampled_pressure(tmp_path)
    now = P.SAMPLE_NS
    assert stalled(40, now)
    assert stalled(20, now + P.SAMPLE_NS)             # under 30% but not under 15%: stays
    assert not stalled(10, now + 2 * P.SAMPLE_NS)
    assert not stalled(20, now + 3 * P.SAMPLE_NS)     # and back only from 30%


def test_contention_is_probed_again_so_block_modes_own_pressure_cannot_hold_it(tmp_path):
    from moss_host.machine import pressure as P
    stalled = sampled_pressure(tmp_path)
    now = P.SAMPLE_NS
    assert stalled(40, now)                             # contended from here
    while now < P.SAMPLE_NS + P.PROBE_NS - P.SAMPLE_NS:
        now += P.SAMPLE_NS
        assert stalled(28, now)                         # block mode's own stalls: above 15%
    now += P.SAMPLE_NS
    assert not stalled(28, now)                         # a probe: the next window polls
    now += P.SAMPLE_NS
    assert not stalled(0, now)                          # polling, nobody else: uncontended
    now += P.SAMPLE_NS
    assert stalled(40, now)                             # others' pressure: contended again
    now += P.SAMPLE_NS
    assert stalled(20, now)
