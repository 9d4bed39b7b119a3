"""proc/exec.py ProgramCache: the processes that exec one version of a file share its bytes."""
from moss_host.proc.caps import ExecFile
from moss_host.proc.exec import ExecutableData, ProgramCache


def program(version: tuple, nosuid: bool = False) -> ExecutableData:
    data = ExecutableData(b"\x7fELF" + bytes(60))
    data.version, data.file = version, ExecFile(0o755, 0, 0, nosuid, None)
    return data


def test_one_copy_per_file_version_and_mount_kind():
    cache = ProgramCache()
    a = program((1, 12, 100, 64))
    cache.put(a)
    assert cache.get((1, 12, 100, 64), a.file) is a
    assert cache.get((1, 12, 101, 64), a.file) is None          # written since: another version
    nosuid = program((1, 12, 100, 64), nosuid=True)
    assert cache.get((1, 12, 100, 64), nosuid.file) is None     # the same file, another mount's flags


def test_the_newest_files_stay_and_drop_caches_empties_it():
    cache = ProgramCache()
    first = program((1, 1, 0, 64))
    cache.put(first)
    for ino in range(2, ProgramCache.RECENT + 1):
        cache.put(program((1, ino, 0, 64)))
    assert cache.get((1, 1, 0, 64), first.file) is first        # used: the newest now
    cache.put(program((1, 99, 0, 64)))                          # the oldest, inode 2, goes
    assert cache.get((1, 2, 0, 64), first.file) is None
    assert cache.get((1, 1, 0, 64), first.file) is first
    cache.drop()
    assert cache.get((1, 1, 0, 64), first.file) is None
