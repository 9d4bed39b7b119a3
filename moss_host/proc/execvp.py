"""The first program's name looked up in PATH, as execvp(3) does for a shell.

`moss-host run -- python3 -c ...` names a program the way a command line does; the kernel
itself only execs paths, so the name is resolved here against the PATH of the environment
the program gets (a Debian root has /usr/bin/python3, BusyBox's has /bin/sh). A name with
a slash is a path already and is left alone, so is one found nowhere: exec then fails on
it as it would have (ENOENT).
"""
from __future__ import annotations

from moss_host.cred import Creds, fs_cred
from moss_host.errors import Errno
from moss_host.fs.path import lookup
from moss_host.fs.vfs import MAY_EXEC, FsContext, permission


def search_path(fs: FsContext, creds: Creds, name: str, envp: list[bytes]) -> str:
    """The first PATH entry's `dir/name` that is a regular file `creds` may execute."""
    if not name or "/" in name:
        return name
    cred = fs_cred(creds)
    for directory in path_entries(envp):
        candidate = f"{directory or '.'}/{name}"        # an empty entry is the cwd
        try:
            inode = lookup(fs, candidate.encode(), cred=cred).inode
            if inode.is_reg:
                permission(inode, cred, MAY_EXEC)
                return candidate
        except Errno:
            continue
    return name


def path_entries(envp: list[bytes]) -> list[str]:
    """PATH's directories from envp (glibc's default when PATH is unset)."""
    for entry in envp:
        if entry.startswith(b"PATH="):
            return entry[5:].decode(errors="surrogateescape").split(":")
    return ["/bin", "/usr/bin"]
