"""acct(2) (kernel/acct.c): switch BSD process accounting to a file, or off. The records
themselves are proc/acct.py's."""
from __future__ import annotations

from moss_host.cred import capable, fs_cred
from moss_host.errors import EACCES, EIO, EPERM, Errno
from moss_host.fs.file import O_APPEND, O_WRONLY, InodeFile, open_file

from .args import Ptr
from .fs import _path_arg
from .table import syscall

CAP_SYS_PACCT = 20
O_LARGEFILE = 0o400000


@syscall("acct")
async def acct(task, path: "Ptr") -> int:
    """Append a record for every process that ends to the regular file at path (NULL: stop);
    CAP_SYS_PACCT only."""
    if not capable(task.creds, CAP_SYS_PACCT):
        raise Errno(EPERM)
    if not path:
        task.kernel.acct.switch(None)
        return 0
    name = _path_arg(task, path)
    f = await open_file(task.fs, task.fs.cwd, name, O_WRONLY | O_APPEND | O_LARGEFILE, 0, fs_cred(task.creds), task)
    f.get()
    if not isinstance(f, InodeFile) or not f.inode.is_reg or not f.writable:
        f.put()                                 # (closed again)
        raise Errno(EACCES if not isinstance(f, InodeFile) or not f.inode.is_reg else EIO)
    task.kernel.acct.switch(f)
    return 0
