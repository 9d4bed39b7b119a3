"""machine/affinity.py: the host thread and the vCPU thread pinned apart in poll mode, and
given back their cores in block mode."""
import os
import subprocess
import sys
import threading

import pytest

from moss_host.machine.affinity import Affinity, NoAffinity

pytestmark = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")


@pytest.fixture
def qemu():
    """A stand-in for QEMU's vCPU thread: a process that sleeps."""
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield p
    finally:
        p.kill()
        p.wait()


def in_thread(fn):
    """Run fn in a thread of its own (the pin is per thread: keep the test runner's free)."""
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join()
    return out[0]


def test_spin_pins_the_two_apart_and_block_gives_back_the_cores(qemu):
    vcpu = qemu.pid

    def pin_and_unpin():
        aff = Affinity(vcpu)
        aff.spin()
        pinned = aff.pinned, os.sched_getaffinity(0), os.sched_getaffinity(vcpu)
        aff.block()
        return pinned, aff.pinned, os.sched_getaffinity(0), os.sched_getaffinity(vcpu)

    everything = os.sched_getaffinity(0)
    (was_pinned, host_mask, vcpu_mask), still, host_after, vcpu_after = in_thread(pin_and_unpin)
    assert was_pinned and len(host_mask) == 1 and len(vcpu_mask) == 1 and host_mask != vcpu_mask
    assert not still and host_after == everything and vcpu_after == everything


def test_a_vanished_qemu_turns_it_off_without_pinning_the_host():
    def try_pin():
        aff = Affinity(2 ** 22 + 12345)             # no such thread
        aff.spin()
        return aff.available, aff.pinned, os.sched_getaffinity(0)
    available, pinned, mask = in_thread(try_pin)
    assert not available and not pinned and mask == os.sched_getaffinity(0)


def test_no_vcpu_thread_id_no_pins():
    assert not Affinity(None).available


def test_no_affinity_never_pins():
    aff = NoAffinity()
    aff.spin()
    assert not aff.available and not aff.pinned
