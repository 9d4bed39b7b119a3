"""mm/tlb.py: with several CPUs an invalidation is broadcast only when another CPU runs
user code of the flushed address space; otherwise the replying CPU flushes locally and the
other CPUs that may hold entries flush their whole TLB before they can use them again."""
from moss_host.machine import layout as L
from moss_host.mm.memory import Memory
from moss_host.mm.tlb import TLBI_OPS, CpuTlbs

A, B = 5, 6                 # two address spaces' ASIDs


def tlbs(ncpus=2):
    forgotten = []
    t = CpuTlbs(ncpus, forgotten.append)
    return t, forgotten


def test_a_space_live_only_on_the_replying_cpu_is_flushed_there_alone():
    t, forgotten = tlbs()
    assert t.switch(0, A) == 0
    ops = t.route(L.OP_TLBI_VA, 0, {A}, running=0)
    assert ops == L.OP_TLBI_VA | L.OP_TLBI_LOCAL
    assert t.stale == 0 and not forgotten


def test_another_cpu_running_the_space_gets_a_broadcast():
    t, _ = tlbs()
    t.switch(0, A)
    t.switch(1, A)              # a second thread of A on CPU 1, running user code
    assert t.route(L.OP_TLBI_ASID, 0, {A}, running=0b10) == L.OP_TLBI_ASID
    assert t.stale == 0


def test_a_cpu_running_another_space_flushes_at_its_next_switch():
    t, forgotten = tlbs()
    t.switch(1, A)              # A ran on CPU 1 once, which runs B now
    t.switch(1, B)
    t.switch(0, A)
    assert t.route(L.OP_TLBI_VA, 0, {A}, running=0b10) == L.OP_TLBI_VA | L.OP_TLBI_LOCAL
    assert t.stale == 0b10 and not forgotten        # it cannot reach A's entries before a switch
    assert t.switch(1, A) == L.OP_TLBI_SELF
    assert t.stale == 0 and t.asid_cpus[B] == 0 and t.asid_cpus[A] == 0b11
    assert t.switch(1, B) == 0                      # flushed once only


def test_a_trapped_cpu_with_the_space_loaded_is_told_to_look_at_its_next_reply():
    t, forgotten = tlbs()
    t.switch(1, A)              # CPU 1 trapped (a thread of A waits for its reply)
    t.switch(0, A)
    ops = t.route(L.OP_TLBI_VA, 0, {A}, running=0)
    assert ops == L.OP_TLBI_VA | L.OP_TLBI_LOCAL
    assert forgotten == [1] and t.stale == 0b10
    assert t.switch(1, A) == L.OP_TLBI_SELF


def test_a_replying_cpu_that_never_ran_the_space_invalidates_nothing():
    t, forgotten = tlbs()
    t.switch(1, B)
    t.switch(0, A)              # A only ever ran on CPU 0, which is trapped; CPU 1 replies
    ops = t.route(L.OP_TLBI_ASID, 1, {A}, running=0)
    assert ops & TLBI_OPS == 0
    assert t.stale == 0b01 and forgotten == [0]


def test_every_asid_flushed_goes_everywhere_unless_no_other_cpu_runs():
    t, _ = tlbs()
    t.switch(0, A)
    t.switch(1, B)
    assert t.route(L.OP_TLBI_ALL, 0, None, running=0b10) == L.OP_TLBI_ALL
    assert t.route(L.OP_TLBI_ALL, 0, None, running=0) == L.OP_TLBI_ALL | L.OP_TLBI_LOCAL
    assert t.stale == 0b10


def test_memory_marks_only_a_broadcast_in_flight():
    mem = Memory(bytearray(64 << 20), 64 << 20)
    mem.running_cpus = lambda: 0b10
    forgotten: list[int] = []
    mem.tlbs = CpuTlbs(2, forgotten.append)
    mem.tlbs.switch(0, A)
    mem.tlbs.switch(1, B)
    mem.flush_page(A, 0x1000)
    ops = mem.take_guest_work(0b01)[0]
    assert ops == L.OP_TLBI_VA | L.OP_TLBI_LOCAL
    assert mem.take_guest_work(0b10)[0] == 0        # nothing in flight for CPU 1 to cover
    mem.tlbs.switch(1, A)
    mem.flush_page(A, 0x2000)                       # now CPU 1 runs A: broadcast
    assert mem.take_guest_work(0b01)[0] == L.OP_TLBI_VA
    mem.running_cpus = lambda: 0b01
    assert mem.take_guest_work(0b10)[0] == L.OP_TLBI_SELF    # CPU 0 has not run it yet
    mem.guest_work_done(0b01)
    assert mem.take_guest_work(0b10)[0] == 0


def test_memory_asks_only_the_cpus_a_grace_period_waits_for_to_report_their_trap():
    mem = Memory(bytearray(64 << 20), 64 << 20)
    mem.running_cpus = lambda: 0b100
    watched: list[int] = []
    mem.trap_watch = watched.append
    mem.tlbs = CpuTlbs(3, lambda index: None)
    pa = mem.alloc_frame()
    mem.release(pa)                                 # waits for CPU 2 (running) and the replier
    mem.take_guest_work(0b001)
    assert watched == [0b101]
    free = mem.free_frames
    mem.guest_work_done(0b001)
    assert mem.free_frames == free                  # CPU 2 has not trapped yet
    mem.guest_work_done(0b100)
    assert mem.free_frames == free + 1


def test_a_munmap_with_several_cpus_frees_its_frames_only_after_the_grace_period():
    mem = Memory(bytearray(64 << 20), 64 << 20)
    mem.running_cpus = lambda: 0b10
    mem.tlbs = CpuTlbs(2, lambda index: None)
    pas = [mem.alloc_frame() for _ in range(300)]
    shared = pas[:3]
    for pa in shared:
        mem.share(pa)                               # (another mapping keeps these)
    free = mem.free_frames
    mem.release_many(pas)
    assert mem.free_frames == free                  # CPU 1 may still reach them
    mem.take_guest_work(0b01)
    mem.guest_work_done(0b01)
    assert mem.free_frames == free
    mem.guest_work_done(0b10)
    assert mem.free_frames == free + 297            # all but the shared ones
    assert all(mem.frames.get_ref(pa) == 1 for pa in shared)
    mem.release_many(shared)
    mem.take_guest_work(0b01)
    mem.guest_work_done(0b01)
    mem.guest_work_done(0b10)
    assert mem.free_frames == free + 300


def test_with_no_cpu_in_user_code_a_free_needs_no_grace_period():
    mem = Memory(bytearray(64 << 20), 64 << 20)
    mem.running_cpus = lambda: 0               # the freeing CPU is in a trap, the other idles
    mem.tlbs = CpuTlbs(2, lambda index: None)
    pas = [mem.alloc_frame() for _ in range(301)]
    free = mem.free_frames
    mem.release_many(pas[:300])
    mem.release(pas[300])
    assert mem.free_frames == free + 301       # at once, as with one CPU
    assert not mem.guest_work_pending
