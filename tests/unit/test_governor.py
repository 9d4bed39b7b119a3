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


def drive_pressure(tmp_path, others, own=0.0, until_ms=2000):
    """Drive a CpuPressure a millisecond at a time and return its verdict at each: in each
    millisecond some task waited others(ms) percent of it, plus `own` percent while the
    verdict says contended (block mode's own stalls: the host, QEMU's I/O thread and the
    vCPU waking each other)."""
    psi = tmp_path / "psi"
    total_us = 0.0

    def write():
        psi.write_text(f"some avg10=0.00 avg60=0.00 avg300=0.00 total={int(total_us)}\n")
    write()
    p = CpuPressure(str(psi))
    verdicts = []
    for ms in range(until_ms):
        verdict = p.contended(ms * 1_000_000)
        verdicts.append(verdict)
        total_us += 10 * min(100.0, others(ms) + (own if verdict else 0.0))    # (percent of 1000 us)
        write()
    return verdicts


def spans(verdicts, value):
    """The [start, end) millisecond spans in which the verdict was `value`."""
    out, start = [], None
    for ms, v in enumerate(verdicts + [not value]):
        if v == value and start is None:
            start = ms
        elif v != value and start is not None:
            out.append((start, ms))
            start = None
    return out


def test_cpu_pressure_has_hysteresis(tmp_path):
    from moss_host.machine import pressure as P
    # 40% for 1 s, then 20%: between the two limits a sample keeps the verdict (a probe,
    # measured against the limit that starts contention, ends it)
    verdicts = drive_pressure(tmp_path, lambda ms: 40 if ms < 1000 else 20)
    assert verdicts[20] and verdicts[999]
    probe_or_sample = [ms for ms in range(1001, 2000) if verdicts[ms] != verdicts[ms - 1]]
    assert probe_or_sample, "20% after a verdict of contention: it stays until a probe"
    first_change = probe_or_sample[0]
    assert first_change - 1000 > P.SAMPLE_NS // 1_000_000       # samples in between kept it
    # and once uncontended, 20% does not start contention again (30% does)
    assert not any(verdicts[first_change + P.MIN_WINDOW_NS // 1_000_000 + 1:])


def test_passing_contention_is_given_up_within_tens_of_milliseconds(tmp_path):
    from moss_host.machine import pressure as P
    # The first 10 ms stalled 60% (a second vCPU coming up beside the RAM warmer), nothing
    # after; block mode stalls 25% of its own, above the 15% that ends contention.
    verdicts = drive_pressure(tmp_path, lambda ms: 60 if ms < 10 else 0, own=25, until_ms=1000)
    contended = spans(verdicts, True)
    assert contended[0][0] == P.MIN_WINDOW_NS // 1_000_000       # the first window's verdict
    assert contended == [(10, 10 + P.PROBE_FIRST_NS // 1_000_000)]   # one probe ends it


def test_lasting_contention_is_probed_ever_less_often_and_polls_little(tmp_path):
    from moss_host.machine import pressure as P
    verdicts = drive_pressure(tmp_path, lambda ms: 60, own=0, until_ms=3000)
    probes = spans(verdicts, False)[1:]                     # (the first is the first window)
    waits = [b[0] - a[1] for a, b in zip(probes, probes[1:])]
    assert waits[:4] == [40, 80, 160, 250]                  # doubling from PROBE_FIRST_NS, to PROBE_NS
    assert set(waits[4:]) == {P.PROBE_NS // 1_000_000}
    assert all(end - start == P.MIN_WINDOW_NS // 1_000_000 for start, end in probes)
    assert verdicts.count(False) < 0.1 * len(verdicts)      # polled under 10% of the time



def test_a_probes_window_says_so_until_it_is_measured(tmp_path):
    from moss_host.machine import pressure as P
    psi = tmp_path / "psi"
    psi.write_text("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    p = CpuPressure(str(psi))
    assert not p.contended(0) and not p.probing
    psi.write_text("some avg10=0.00 avg60=0.00 avg300=0.00 total=6000\n")     # 60% of 10 ms
    assert p.contended(P.MIN_WINDOW_NS) and not p.probing
    probe_at = P.MIN_WINDOW_NS + P.PROBE_FIRST_NS
    assert not p.contended(probe_at) and p.probing      # polling, measured as if uncontended
    psi.write_text("some avg10=0.00 avg60=0.00 avg300=0.00 total=12000\n")    # 60% again
    assert p.contended(probe_at + P.MIN_WINDOW_NS) and not p.probing


def test_an_unsure_first_window_is_measured_again(tmp_path):
    from moss_host.machine import pressure as P
    first = P.MIN_WINDOW_NS // 1_000_000
    # 35% in the first window (the machine's own start), nothing after: never contended
    verdicts = drive_pressure(tmp_path, lambda ms: 35 if ms < first else 0, until_ms=200)
    assert not any(verdicts)
    # 35% in the first window and the next: contended from the second
    verdicts = drive_pressure(tmp_path, lambda ms: 35, until_ms=200)
    assert spans(verdicts, True)[0][0] == 2 * first
    # a sure first window decides at once
    verdicts = drive_pressure(tmp_path, lambda ms: P.FIRST_SURE_PERCENT + 5, until_ms=200)
    assert spans(verdicts, True)[0][0] == first
