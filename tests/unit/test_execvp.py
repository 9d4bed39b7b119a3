"""moss-host run's PATH lookup of its program (moss_host/proc/execvp.py), as execvp(3) searches."""
from moss_host.cred import Creds
from moss_host.fs.drivers.tmpfs import Tmpfs
from moss_host.fs.namespace import MountTable
from moss_host.fs.vfs import FsContext, vfs_create, vfs_mkdir
from moss_host.proc.execvp import path_entries, search_path

ENV = [b"HOME=/root", b"PATH=/usr/sbin:/usr/bin:/sbin:/bin"]


def make_root():
    """/usr/bin/python3 (755), /usr/sbin/notes (644, not executable), /sbin/notes (755),
    /bin/python3 (755: later in PATH than /usr/bin), /usr/bin/dir (a directory)."""
    fs = FsContext(MountTable(Tmpfs(mode=0o755)).root_location())
    usr = vfs_mkdir(fs.root, b"usr", 0o755, None)
    usr_bin = vfs_mkdir(usr, b"bin", 0o755, None)
    usr_sbin = vfs_mkdir(usr, b"sbin", 0o755, None)
    sbin = vfs_mkdir(fs.root, b"sbin", 0o755, None)
    bin_ = vfs_mkdir(fs.root, b"bin", 0o755, None)
    vfs_create(usr_bin, b"python3", 0o755, None)
    vfs_create(bin_, b"python3", 0o755, None)
    vfs_create(usr_sbin, b"notes", 0o644, None)
    vfs_create(sbin, b"notes", 0o755, None)
    vfs_mkdir(usr_bin, b"dir", 0o755, None)
    vfs_create(bin_, b"dir", 0o755, None)
    return fs


def test_a_bare_name_is_found_in_the_first_path_directory_that_has_it():
    assert search_path(make_root(), Creds(), "python3", ENV) == "/usr/bin/python3"


def test_entries_that_are_not_executable_files_are_passed_over():
    fs = make_root()
    assert search_path(fs, Creds(), "notes", ENV) == "/sbin/notes"
    assert search_path(fs, Creds(), "dir", ENV) == "/bin/dir"


def test_a_path_and_a_name_found_nowhere_are_left_as_they_are():
    fs = make_root()
    assert search_path(fs, Creds(), "/usr/bin/python3", ENV) == "/usr/bin/python3"
    assert search_path(fs, Creds(), "./python3", ENV) == "./python3"
    assert search_path(fs, Creds(), "missing", ENV) == "missing"


def test_without_path_in_the_environment_glibc_default_applies():
    assert path_entries([b"HOME=/"]) == ["/bin", "/usr/bin"]
    assert path_entries([b"PATH=:/x"]) == ["", "/x"]
