"""The kernel's identity strings (struct new_utsname): uname(2), /proc/version and
/proc/sys/kernel/*, changed by sethostname(2)/setdomainname(2)."""

UTS_FIELD = 65            # __NEW_UTS_LEN + 1

UTSNAME = {
    "sysname": b"Linux", "nodename": b"moss", "release": b"6.1.0-moss-py",
    "version": b"#1 SMP PREEMPT moss-py", "machine": b"aarch64", "domainname": b"(none)",
}
