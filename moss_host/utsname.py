"""The kernel's identity strings (struct new_utsname): uname(2), /proc/version and
/proc/sys/kernel/*. The node and domain names belong to a UTS namespace (CONFIG_UTS_NS):
sethostname(2)/setdomainname(2) change the caller's; clone/unshare(CLONE_NEWUTS) give a task
a copy (copy_utsname). The other fields are the same everywhere."""
from __future__ import annotations

from dataclasses import dataclass, replace

UTS_FIELD = 65            # __NEW_UTS_LEN + 1

UTSNAME = {
    "sysname": b"Linux", "nodename": b"moss", "release": b"6.1.0-moss-py",
    "version": b"#1 SMP PREEMPT moss-py", "machine": b"aarch64", "domainname": b"(none)",
}

PROC_UTS_INIT_INO = 0xEFFFFFFE              # include/linux/proc_ns.h: the initial namespace's inode


@dataclass(eq=False)
class UtsNamespace:
    """One UTS namespace: the names sethostname/setdomainname set. `inum` is its nsfs inode
    number (what /proc/PID/ns/uts shows)."""
    nodename: bytes = UTSNAME["nodename"]
    domainname: bytes = UTSNAME["domainname"]
    inum: int = PROC_UTS_INIT_INO

    def copy(self, inum: int) -> UtsNamespace:
        """copy_utsname: a new namespace (numbered `inum`) starting with this one's names."""
        return replace(self, inum=inum)

    def get(self, key: str) -> bytes:
        """A struct new_utsname field by name: the namespace's own two, or the kernel's."""
        if key == "nodename":
            return self.nodename
        if key == "domainname":
            return self.domainname
        return UTSNAME[key]

    def set(self, key: str, value: bytes) -> None:
        if key == "nodename":
            self.nodename = value
        elif key == "domainname":
            self.domainname = value
        else:
            raise KeyError(key)


INIT_UTS_NS = UtsNamespace()        # init_uts_ns: every task's until one asks for a new one
