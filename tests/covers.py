"""`@covers("name", ...)`: declares which syscalls a test exercises; docs/syscalls.md is built from these."""


def covers(*syscalls: str):
    def mark(fn):
        fn.covers = syscalls
        return fn
    return mark
