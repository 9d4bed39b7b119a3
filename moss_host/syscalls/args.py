"""Argument kinds for syscall parameters: annotations that tell the tracer how to print an argument.

At run time every argument is the raw 64-bit register value (an int); these names
exist for documentation and --trace only. Use them as string annotations, e.g.
`async def openat(task, dirfd: "Fd", path: "CStr", flags: "OpenFlags", mode: "Mode")`.

  Fd        signed 32-bit file descriptor (AT_FDCWD prints as such)
  CStr      pointer to a NUL-terminated string, printed as its contents
  Ptr       user pointer, printed in hex
  Int       signed 64-bit
  UInt      unsigned, printed in decimal
  Hex       flags or masks, printed in hex
  Size      byte count
"""


def c_int(raw: int) -> int:
    """A C `int` argument: the low 32 bits, sign-extended (what SYSCALL_DEFINE's cast does)."""
    raw &= 0xFFFF_FFFF
    return raw - (1 << 32) if raw & 0x8000_0000 else raw


def c_uint(raw: int) -> int:
    """A C `unsigned int` argument: the low 32 bits."""
    return raw & 0xFFFF_FFFF
