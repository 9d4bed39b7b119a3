"""Terminal attributes as user space sees them on arm64: struct termios, struct winsize,
their flag bits and the tty ioctl numbers.

Values are <asm-generic/termbits.h> and <asm-generic/ioctls.h> (arm64 uses the generic
ones). `struct termios` is the TCGETS layout, 36 bytes: c_iflag, c_oflag, c_cflag,
c_lflag (u32 each), c_line (u8), c_cc[19]. `struct termios2` (TCGETS2) appends
c_ispeed and c_ospeed (u32 each): 44 bytes.
Defaults are Linux's tty_std_termios, what a freshly opened console reports.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

# -- c_iflag
IGNBRK, BRKINT, IGNPAR, PARMRK, INPCK, ISTRIP = 0o1, 0o2, 0o4, 0o10, 0o20, 0o40
INLCR, IGNCR, ICRNL, IUCLC, IXON, IXANY = 0o100, 0o200, 0o400, 0o1000, 0o2000, 0o4000
IXOFF, IMAXBEL, IUTF8 = 0o10000, 0o20000, 0o40000

# -- c_oflag
OPOST, OLCUC, ONLCR, OCRNL, ONOCR, ONLRET, OFILL, OFDEL = 0o1, 0o2, 0o4, 0o10, 0o20, 0o40, 0o100, 0o200
NLDLY, CRDLY, TABDLY, BSDLY, VTDLY, FFDLY = 0o400, 0o3000, 0o14000, 0o20000, 0o40000, 0o100000
XTABS = 0o14000                 # TAB3: expand tabs to spaces

# -- c_cflag
CBAUD, B0, B9600, B38400, CBAUDEX = 0o10017, 0o0, 0o15, 0o17, 0o10000
CSIZE, CS5, CS6, CS7, CS8 = 0o60, 0o0, 0o20, 0o40, 0o60
CSTOPB, CREAD, PARENB, PARODD, HUPCL, CLOCAL = 0o100, 0o200, 0o400, 0o1000, 0o2000, 0o4000

# -- c_lflag
ISIG, ICANON, XCASE, ECHO, ECHOE, ECHOK, ECHONL, NOFLSH = 0o1, 0o2, 0o4, 0o10, 0o20, 0o40, 0o100, 0o200
TOSTOP, ECHOCTL, ECHOPRT, ECHOKE, FLUSHO, PENDIN, IEXTEN, EXTPROC = (
    0o400, 0o1000, 0o2000, 0o4000, 0o10000, 0o40000, 0o100000, 0o200000)

# -- c_cc indices
VINTR, VQUIT, VERASE, VKILL, VEOF, VTIME, VMIN, VSWTC = range(8)
VSTART, VSTOP, VSUSP, VEOL, VREPRINT, VDISCARD, VWERASE, VLNEXT, VEOL2 = range(8, 17)
NCCS = 19
VDISABLE = 0                    # _POSIX_VDISABLE: a c_cc slot holding 0 matches nothing

N_TTY = 0                       # the only line discipline (c_line, TIOCGETD)

# Linux's INIT_C_CC: ^C ^\ DEL ^U ^D, VTIME 0, VMIN 1, VSWTC 0, ^Q ^S ^Z, VEOL 0, ^R ^O ^W ^V, VEOL2 0
DEFAULT_CC = bytes([0o3, 0o34, 0o177, 0o25, 0o4, 0, 1, 0, 0o21, 0o23, 0o32, 0, 0o22, 0o17, 0o27, 0o26, 0,
                    0, 0])
DEFAULT_IFLAG = ICRNL | IXON
DEFAULT_OFLAG = OPOST | ONLCR
DEFAULT_CFLAG = B38400 | CS8 | CREAD | HUPCL
DEFAULT_LFLAG = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN
DEFAULT_SPEED = 38400

# -- ioctl numbers (asm-generic/ioctls.h)
TCGETS, TCSETS, TCSETSW, TCSETSF = 0x5401, 0x5402, 0x5403, 0x5404
TCGETA, TCSETA, TCSETAW, TCSETAF = 0x5405, 0x5406, 0x5407, 0x5408
TCSBRK, TCXONC, TCFLSH = 0x5409, 0x540A, 0x540B
TIOCEXCL, TIOCNXCL, TIOCSCTTY, TIOCGPGRP, TIOCSPGRP = 0x540C, 0x540D, 0x540E, 0x540F, 0x5410
TIOCOUTQ, TIOCSTI, TIOCGWINSZ, TIOCSWINSZ = 0x5411, 0x5412, 0x5413, 0x5414
FIONREAD = TIOCINQ = 0x541B
TIOCNOTTY, TIOCSETD, TIOCGETD, TCSBRKP = 0x5422, 0x5423, 0x5424, 0x5425
TIOCSBRK, TIOCCBRK, TIOCGSID = 0x5427, 0x5428, 0x5429
TCGETS2, TCSETS2, TCSETSW2, TCSETSF2 = 0x802C542A, 0x402C542B, 0x402C542C, 0x402C542D
TIOCGEXCL = 0x80045440
TIOCGLCKTRMIOS, TIOCSLCKTRMIOS = 0x5456, 0x5457

# TCFLSH / tcflush queue selectors, TCXONC / tcflow actions
TCIFLUSH, TCOFLUSH, TCIOFLUSH = 0, 1, 2
TCOOFF, TCOON, TCIOFF, TCION = 0, 1, 2, 3

TERMIOS = struct.Struct("<IIIIB19s")
TERMIOS2 = struct.Struct("<IIIIB19sII")
WINSIZE = struct.Struct("<HHHH")
# struct termio (TCGETA), System V's: the low 16 bits of each flag word, c_line, c_cc[NCC], a pad byte.
TERMIO = struct.Struct("<HHHHB8sx")
NCC = 8
assert TERMIOS.size == 36 and TERMIOS2.size == 44 and WINSIZE.size == 8


@dataclass
class Termios:
    """The kernel's copy of a terminal's attributes (struct ktermios)."""
    iflag: int = DEFAULT_IFLAG
    oflag: int = DEFAULT_OFLAG
    cflag: int = DEFAULT_CFLAG
    lflag: int = DEFAULT_LFLAG
    line: int = N_TTY
    cc: bytearray = field(default_factory=lambda: bytearray(DEFAULT_CC))
    ispeed: int = DEFAULT_SPEED
    ospeed: int = DEFAULT_SPEED

    def copy(self) -> "Termios":
        return Termios(self.iflag, self.oflag, self.cflag, self.lflag, self.line, bytearray(self.cc),
                       self.ispeed, self.ospeed)

    def pack(self) -> bytes:
        """struct termios (TCGETS)."""
        return TERMIOS.pack(self.iflag, self.oflag, self.cflag, self.lflag, self.line, bytes(self.cc))

    def pack2(self) -> bytes:
        """struct termios2 (TCGETS2)."""
        return TERMIOS2.pack(self.iflag, self.oflag, self.cflag, self.lflag, self.line, bytes(self.cc),
                             self.ispeed, self.ospeed)

    def pack_termio(self) -> bytes:
        """struct termio (TCGETA), its pad byte 0 (Linux copies out a zeroed struct)."""
        m = 0xFFFF
        return TERMIO.pack(self.iflag & m, self.oflag & m, self.cflag & m, self.lflag & m, self.line,
                           bytes(self.cc[:NCC]))

    def with_termio(self, raw: bytes) -> "Termios":
        """TCSETA's user_termio_to_kernel_termios: a copy whose flags' low 16 bits, line and
        first NCC control characters come from struct termio `raw`."""
        iflag, oflag, cflag, lflag, line, cc = TERMIO.unpack(raw[:TERMIO.size])
        new = self.copy()
        hi = 0xFFFF0000
        new.iflag, new.oflag = (new.iflag & hi) | iflag, (new.oflag & hi) | oflag
        new.cflag, new.lflag = (new.cflag & hi) | cflag, (new.lflag & hi) | lflag
        new.line = line
        new.cc[:NCC] = cc
        return new

    @classmethod
    def unpack(cls, raw: bytes) -> "Termios":
        iflag, oflag, cflag, lflag, line, cc = TERMIOS.unpack(raw[:TERMIOS.size])
        return cls(iflag, oflag, cflag, lflag, line, bytearray(cc))

    @classmethod
    def unpack2(cls, raw: bytes) -> "Termios":
        iflag, oflag, cflag, lflag, line, cc, ispeed, ospeed = TERMIOS2.unpack(raw[:TERMIOS2.size])
        return cls(iflag, oflag, cflag, lflag, line, bytearray(cc), ispeed, ospeed)

    # -- the questions the line discipline asks
    def i(self, bit: int) -> bool:
        return bool(self.iflag & bit)

    def o(self, bit: int) -> bool:
        return bool(self.oflag & bit)

    def l(self, bit: int) -> bool:  # noqa: E743
        return bool(self.lflag & bit)

    def is_char(self, c: int, index: int) -> bool:
        """c is the special character in slot `index` (never when the slot is disabled)."""
        v = self.cc[index]
        return v != VDISABLE and v == c

    @property
    def vmin(self) -> int:
        return self.cc[VMIN]

    @property
    def vtime(self) -> int:
        return self.cc[VTIME]


@dataclass
class Winsize:
    """struct winsize; a new tty's is all zeros, as in Linux, until someone sets it."""
    rows: int = 0
    cols: int = 0
    xpixel: int = 0
    ypixel: int = 0

    def pack(self) -> bytes:
        return WINSIZE.pack(self.rows, self.cols, self.xpixel, self.ypixel)

    @classmethod
    def unpack(cls, raw: bytes) -> "Winsize":
        return cls(*WINSIZE.unpack(raw[:WINSIZE.size]))
