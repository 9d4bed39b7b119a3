"""moss_host/reload.py without QEMU: what may be reloaded, and classes updated in place."""
from moss_host.reload import is_syscall_family, refusal, update_class


def test_syscall_families_and_drivers_reload_the_trap_path_does_not():
    assert is_syscall_family("moss_host.syscalls.info")
    assert not is_syscall_family("moss_host.syscalls.table")
    assert refusal("moss_host.syscalls.info") is None
    assert refusal("moss_host.fs.drivers.ext4.inode") is None
    assert refusal("moss_host.net.unix") is None
    assert "trap path" in refusal("moss_host.syscalls.dispatch")
    assert "trap path" in refusal("moss_host.proc.cpu")
    assert "page tables" in refusal("moss_host.mm.memory")
    assert refusal("moss_host.fs.vfs") is not None


def test_update_class_gives_live_instances_the_new_methods_and_keeps_their_state():
    class Old:
        limit = 1

        def __init__(self):
            self.count = 5

        def answer(self):
            return "old"

    class New:
        limit = 2

        def answer(self):
            return f"new {self.count}"

        @property
        def twice(self):
            return self.count * 2

    live = Old()
    update_class(Old, New)
    assert live.answer() == "new 5"
    assert live.twice == 10 and Old.limit == 2
