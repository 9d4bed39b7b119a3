"""FdTable's lowest-free hint: allocation stays "the lowest free descriptor" however
descriptors come and go (checked against a plain scan)."""
import random

from moss_host.fs.fdtable import FdTable


class F:
    """The part of an OpenFile the table uses."""
    def get(self):
        return self

    def put(self):
        pass

    def flush(self, table):
        pass


def lowest_free(t: FdTable, lowest: int) -> int:
    fd = lowest
    while fd in t or fd in reserved:
        fd += 1
    return fd


reserved: set[int] = set()


def test_allocation_matches_a_scan_from_zero():
    rnd = random.Random(5)
    t = FdTable(limit=1024)
    reserved.clear()
    for _ in range(3000):
        op = rnd.random()
        open_fds = [fd for fd, _ in t.items()]
        if op < 0.45 or not open_fds:
            lowest = rnd.choice([0, 0, 0, rnd.randrange(20)])
            expect = lowest_free(t, lowest)
            if expect >= t.limit:
                continue
            assert t.install(F(), lowest=lowest) == expect
        elif op < 0.75:
            t.close(rnd.choice(open_fds))
        elif op < 0.85:
            fd = t.alloc_fd()
            assert fd == lowest_free(t, 0)
            reserved.add(fd)
            if rnd.random() < 0.5:
                t.release_reserved(fd)
            else:
                t.install_at_reserved(fd, F())
            reserved.discard(fd)
        elif op < 0.95:
            t.dup3(rnd.choice(open_fds), rnd.randrange(30))
        else:
            t = t.clone()


def test_clone_starts_from_a_correct_hint():
    t = FdTable()
    for _ in range(5):
        t.install(F())
    t.close(2)
    c = t.clone()
    assert c.install(F()) == 2
    assert t.install(F()) == 2
