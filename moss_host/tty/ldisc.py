"""The N_TTY line discipline as pure logic: bytes typed in, what to echo, which signals
to raise, and what readers may take. No I/O and no waiting here (tty.py does that).

It follows Linux's drivers/tty/n_tty.c closely, function by function:

* receive(data) is n_tty_receive_buf_standard: ISTRIP, IUCLC, the literal-next state,
  then each byte is either ordinary (echoed and queued) or special (the set Linux
  builds in n_tty_set_termios: CR/NL conversions, the canonical editing characters,
  IXON's START/STOP, ISIG's INTR/QUIT/SUSP). A c_cc slot holding 0 is disabled.
* Canonical mode keeps the line under edit apart from completed lines; a read takes
  at most one line. VEOF ends a line without being stored: at the start of a line
  it makes the next read return 0. VERASE/VKILL/VWERASE edit with Linux's echo
  rules (ECHOE, ECHOK, ECHOKE, ECHOPRT, ECHOCTL; tabs erased by column; UTF-8
  characters as a whole with IUTF8). A line holds at most 4095 bytes; more
  ordinary input is dropped until the line ends (Linux overwrites the last byte).
* Echo goes through the same output processing as written data (process_output:
  OPOST with ONLCR, OCRNL, ONOCR, ONLRET, OLCUC, XTABS) and tracks the column.
* ISIG: the signal goes to the foreground group (the caller does that) and, unless
  NOFLSH, pending input and unsent output are flushed.
* IXON: START/STOP characters are consumed and stop/start output (`stopped`); IXANY
  restarts on any character. The Tty holds output while stopped.

Simplifications: no PARMRK/IGNPAR/BRKINT (the host delivers no parity or break
events), no EXTPROC or packet mode, iscntrl() is ASCII (bytes 0x80-0x9f are not
control characters here, so UTF-8 echoes cleanly), no FLUSHO/VDISCARD, no PENDIN.
"""
from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from .termios import (ECHO, ECHOCTL, ECHOE, ECHOK, ECHOKE, ECHONL, ECHOPRT, ICANON, ICRNL, IEXTEN, IGNCR,
                      INLCR, ISIG, ISTRIP, IUCLC, IUTF8, IXANY, IXON, NOFLSH, OCRNL, OLCUC, ONLCR, ONLRET,
                      ONOCR, OPOST, TABDLY, VEOF, VEOL, VEOL2, VERASE, VINTR, VKILL, VLNEXT, VQUIT, VREPRINT,
                      VSTART, VSTOP, VSUSP, VWERASE, XTABS, Termios)

SIGINT, SIGQUIT, SIGTSTP = 2, 3, 20

N_TTY_BUF_SIZE = 4096           # Linux's input buffer; a canonical line holds one byte less
INPUT_LIMIT = 65536             # buffered input beyond which the driver stops feeding us (throttle)
HZ_TENTH = 0.1                  # VTIME counts tenths of a second


_CONTROL_BYTES = bytes(range(32)) + b"\x7f"
_CONTINUATION_BYTES = bytes(range(0x80, 0xC0))
_COLUMN_MOVERS = re.compile(rb"[\t\b\r]")


def iscntrl(c: int) -> bool:
    return c < 32 or c == 127


def isalnum(c: int) -> bool:
    return 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122


@dataclass
class Received:
    """What a batch of input did."""
    output: bytearray = field(default_factory=bytearray)   # echo, already output-processed
    signals: list = field(default_factory=list)            # for the foreground process group
    readable: bool = False          # readers may have something new to take
    flush_output: bool = False      # ISIG without NOFLSH: drop output not yet sent
    flow_changed: bool = False      # IXON stopped or started output


@dataclass
class _Line:
    """A completed canonical line: its bytes (with the NL/EOL that ended it) and whether VEOF ended it."""
    data: bytearray
    eof: bool = False


class LineDiscipline:
    def __init__(self, termios: Termios | None = None):
        self.termios = termios if termios is not None else Termios()
        self.edit = bytearray()         # canonical: the line being typed
        self.lines: deque[_Line] = deque()
        self.raw = bytearray()          # non-canonical: what readers may take
        self.lnext = False              # the next byte is literal (VLNEXT)
        self.erasing = False            # inside an ECHOPRT \...erased.../ run
        self.column = 0                 # output column, for tabs
        self.canon_column = 0           # column where the line under edit started
        self.stopped = False            # output stopped by STOP (IXON) or TCOOFF
        self.tco_stopped = False        # ... by TCOOFF (IXANY does not restart that)
        self._special = self._special_chars()
        self._batch_column = 0          # where the screen was before the current batch's echo
        self._r = Received()            # what the current (or last) receive() reports

    # ------------------------------------------------------------------ attributes

    @property
    def canonical(self) -> bool:
        return self.termios.l(ICANON)

    def set_termios(self, new: Termios) -> None:
        """Install new attributes (n_tty_set_termios): a change of ICANON moves the buffered input."""
        was_canon = self.canonical
        self.termios = new
        self._special = self._special_chars()
        if was_canon and not self.canonical:
            # every byte typed so far becomes readable, finished lines or not
            for line in self.lines:
                self.raw += line.data
            self.raw += self.edit
            self.lines.clear()
            self.edit.clear()
        elif not was_canon and self.canonical and self.raw:
            self.lines.append(_Line(self.raw))     # Linux "pushes" it out as one line
            self.raw = bytearray()
        if not self.canonical:
            self.erasing = False
            self.lnext = False
        if not new.i(IXON) and self.stopped and not self.tco_stopped:
            self.stopped = False

    def _special_chars(self) -> frozenset:
        """The bytes handled by _receive_special (Linux's char_map)."""
        t = self.termios
        cc = t.cc
        special = set()
        if t.i(IGNCR) or t.i(ICRNL):
            special.add(ord("\r"))
        if t.i(INLCR):
            special.add(ord("\n"))
        if t.l(ICANON):
            special.update((cc[VERASE], cc[VKILL], cc[VEOF], ord("\n"), cc[VEOL]))
            if t.l(IEXTEN):
                special.update((cc[VWERASE], cc[VLNEXT], cc[VEOL2]))
                if t.l(ECHO):
                    special.add(cc[VREPRINT])
        if t.i(IXON):
            special.update((cc[VSTART], cc[VSTOP]))
        if t.l(ISIG):
            special.update((cc[VINTR], cc[VQUIT], cc[VSUSP]))
        special.discard(0)
        return frozenset(special)

    # ------------------------------------------------------------------ input

    def receive(self, data: bytes) -> Received:
        """Bytes from the keyboard (the host terminal), in order."""
        r = Received()
        self._r = r
        self._batch_column = self.column       # where the screen is before this batch's echo
        for c in data:
            if self.lnext:
                self.lnext = False
                self._receive_char(self._strip(c))
                continue
            c = self._strip(c)
            if c in self._special:
                self._receive_special(c)
            else:
                self._receive_char(c)
        return r

    def _strip(self, c: int) -> int:
        t = self.termios
        if t.i(ISTRIP):
            c &= 0x7F
        if t.i(IUCLC) and t.l(IEXTEN) and 65 <= c <= 90:
            c += 32
        return c

    def _receive_char(self, c: int) -> None:
        """An ordinary byte (n_tty_receive_char): restart output on IXANY, echo, queue."""
        t = self.termios
        self._ixany()
        if t.l(ECHO):
            self._finish_erasing()
            if self.canonical and not self.edit:
                self.canon_column = self.column
            self._echo_char(c)
        self._queue(c)

    def _ixany(self) -> None:
        if self.stopped and not self.tco_stopped and self.termios.i(IXON) and self.termios.i(IXANY):
            self._start()

    def _receive_special(self, c: int) -> None:
        """n_tty_receive_char_special, in Linux's order."""
        t = self.termios
        cc = t.cc
        if t.i(IXON):
            if c == cc[VSTART]:
                self._start()
                return
            if c == cc[VSTOP]:
                if not self.stopped:
                    self.stopped = True
                    self._r.flow_changed = True
                return
        if t.l(ISIG):
            for index, signo in ((VINTR, SIGINT), (VQUIT, SIGQUIT), (VSUSP, SIGTSTP)):
                if c == cc[index]:
                    self._signal_char(signo, c)
                    return
        self._ixany()
        if c == ord("\r"):
            if t.i(IGNCR):
                return
            if t.i(ICRNL):
                c = ord("\n")
        elif c == ord("\n") and t.i(INLCR):
            c = ord("\r")

        if self.canonical:
            if c == cc[VERASE] or c == cc[VKILL] or (c == cc[VWERASE] and t.l(IEXTEN)):
                self._eraser(c)
                return
            if c == cc[VLNEXT] and t.l(IEXTEN):
                self.lnext = True
                if t.l(ECHO):
                    self._finish_erasing()
                    if t.l(ECHOCTL):
                        self._echo_raw(b"^\b")
                return
            if c == cc[VREPRINT] and t.l(ECHO) and t.l(IEXTEN):
                self._finish_erasing()
                self._echo_char(c)
                self._echo_raw(b"\n")
                for b in self.edit:
                    self._echo_char(b)
                return
            if c == ord("\n"):
                if t.l(ECHO) or t.l(ECHONL):
                    self._echo_raw(b"\n")
                self._end_line(c)
                return
            if c == cc[VEOF]:
                self._end_line(None)
                return
            if c == cc[VEOL] or (c == cc[VEOL2] and t.l(IEXTEN)):
                if t.l(ECHO):
                    if not self.edit:
                        self.canon_column = self.column
                    self._echo_char(c)
                self._end_line(c)
                return
        if t.l(ECHO):
            self._finish_erasing()
            if c == ord("\n"):
                self._echo_raw(b"\n")
            else:
                if self.canonical and not self.edit:
                    self.canon_column = self.column
                self._echo_char(c)
        self._queue(c)

    def _start(self) -> None:
        if self.stopped:
            self.stopped = False
            self.tco_stopped = False
            self._r.flow_changed = True

    def _signal_char(self, signo: int, c: int) -> None:
        """n_tty_receive_signal_char: signal, flush unless NOFLSH, restart output, echo the char."""
        r = self._r
        r.signals.append(signo)
        if not self.termios.l(NOFLSH):
            self.flush_input()
            r.flush_output = True
            r.output.clear()                # echo not yet shown is dropped too (Linux clears the echo buffer)
            self.column = self._batch_column
            r.readable = True           # a reader waiting in canonical mode has nothing now; let it look
        if self.termios.i(IXON):
            self._start()
        if self.termios.l(ECHO):
            self._echo_char(c)

    def _queue(self, c: int) -> None:
        if self.canonical:
            if len(self.edit) < N_TTY_BUF_SIZE - 1:
                self.edit.append(c)
        else:
            self.raw.append(c)
            self._r.readable = True

    def _end_line(self, c: int | None) -> None:
        """A line is complete (n_tty_receive_handle_newline); c is None for VEOF, which is not stored."""
        line = self.edit
        if c is not None:
            line.append(c)
        self.lines.append(_Line(line, eof=c is None))
        self.edit = bytearray()
        self._r.readable = True

    # -- line editing

    def _is_continuation(self, c: int) -> bool:
        return self.termios.i(IUTF8) and (c & 0xC0) == 0x80

    def _eraser(self, c: int) -> None:
        """VERASE, VWERASE or VKILL on the line under edit, with its echo (Linux's eraser())."""
        t = self.termios
        cc = t.cc
        if not self.edit:
            return
        if c == cc[VERASE]:
            kind = "erase"
        elif c == cc[VWERASE]:
            kind = "werase"
        else:
            if not t.l(ECHO):
                self.edit.clear()
                return
            if not t.l(ECHOK) or not t.l(ECHOKE) or not t.l(ECHOE):
                self.edit.clear()
                self._finish_erasing()
                self._echo_char(cc[VKILL])
                if t.l(ECHOK):
                    self._echo_raw(b"\n")
                return
            kind = "kill"
        seen_alnums = 0
        while self.edit:
            head = len(self.edit)
            while True:                                 # one character, UTF-8 sequences whole
                head -= 1
                ch = self.edit[head]
                if not (self._is_continuation(ch) and head > 0):
                    break
            if self._is_continuation(ch):
                break                                   # never erase half a character
            if kind == "werase":
                if isalnum(ch) or ch == ord("_"):
                    seen_alnums += 1
                elif seen_alnums:
                    break
            erased = bytes(self.edit[head:])
            del self.edit[head:]
            if t.l(ECHO):
                self._echo_erase(kind, ch, erased)
            if kind == "erase":
                break
        if not self.edit and t.l(ECHO):
            self._finish_erasing()

    def _echo_erase(self, kind: str, ch: int, erased: bytes) -> None:
        t = self.termios
        if t.l(ECHOPRT):
            if not self.erasing:
                self._echo_raw(b"\\")
                self.erasing = True
            self._echo_char(ch)
            if len(erased) > 1:
                self._echo_raw(erased[1:])
        elif kind == "erase" and not t.l(ECHOE):
            self._echo_char(t.cc[VERASE])
        elif ch == ord("\t"):
            self._echo_raw(b"\b" * self._tab_width())
        else:
            if iscntrl(ch) and t.l(ECHOCTL):
                self._echo_raw(b"\b \b")
            if not iscntrl(ch) or t.l(ECHOCTL):
                self._echo_raw(b"\b \b")

    def _tab_width(self) -> int:
        """How many columns the tab just erased took (echo_erase_tab): count from the line start or the previous tab."""
        columns, after_tab = 0, False
        for ch in reversed(self.edit):
            if ch == ord("\t"):
                after_tab = True
                break
            if iscntrl(ch):
                if self.termios.l(ECHOCTL):
                    columns += 2
            elif not self._is_continuation(ch):
                columns += 1
        if not after_tab:
            columns += self.canon_column
        return 8 - (columns & 7)

    def _finish_erasing(self) -> None:
        if self.erasing:
            self._echo_raw(b"/")
            self.erasing = False

    # -- echo

    def _echo_char(self, c: int) -> None:
        """echo_char: a control character shows as ^X under ECHOCTL (tab excepted)."""
        if self.termios.l(ECHOCTL) and iscntrl(c) and c != ord("\t"):
            self._echo_raw(bytes((ord("^"), c ^ 0x40)))
        else:
            self._echo_raw(bytes((c,)))

    def _echo_raw(self, data: bytes) -> None:
        self._r.output += self.process_output(data)

    # ------------------------------------------------------------------ reading

    def read_params(self) -> tuple[int, float | None, float | None]:
        """(minimum, inter-byte time, first timeout) of a read, as n_tty_read sets them up.

        Canonical: (0, None, None): wait for a line, take at most one.
        VMIN > 0: wait (forever) for the first byte, then until VMIN bytes, with VTIME as an
        inter-byte timer if set. VMIN == 0: (1, None, VTIME): one byte or VTIME passes;
        VTIME == 0 too: never wait (0 seconds).
        """
        if self.canonical:
            return 0, None, None
        vmin, vtime = self.termios.vmin, self.termios.vtime
        if vmin:
            return vmin, (vtime * HZ_TENTH if vtime else None), None
        return 1, None, vtime * HZ_TENTH

    def read_available(self) -> bool:
        """A read would find something (input_available_p(tty, 0))."""
        return bool(self.lines) if self.canonical else bool(self.raw)

    def poll_readable(self) -> bool:
        """poll() reports POLLIN (input_available_p(tty, 1)): with VMIN and no VTIME, VMIN bytes."""
        if self.canonical:
            return bool(self.lines)
        t = self.termios
        amount = t.vmin if t.vmin and not t.vtime else 1
        return len(self.raw) >= amount

    def take(self, n: int) -> bytes:
        """Up to n bytes for a reader: in canonical mode from one line only.

        An empty result in canonical mode with a line queued is end of file (VEOF at the
        start of a line). The VEOF that ends a non-empty line counts as a byte of the
        request, as in Linux: reading "ab^D" with n=2 returns "ab" and the next read 0.
        """
        if not self.canonical:
            data = bytes(self.raw[:n])
            del self.raw[:n]
            return data
        if not self.lines or n <= 0:
            return b""
        line = self.lines[0]
        if line.eof and n >= len(line.data) + 1 or not line.eof and n >= len(line.data):
            self.lines.popleft()
            return bytes(line.data)
        data = bytes(line.data[:n])
        del line.data[:n]
        return data

    def inq(self) -> int:
        """FIONREAD/TIOCINQ: bytes a reader could take now (canonical: in completed lines only)."""
        if self.canonical:
            return sum(len(line.data) for line in self.lines)
        return len(self.raw)

    def buffered(self) -> int:
        """Everything held, typed or completed: what throttling looks at."""
        return len(self.raw) + len(self.edit) + sum(len(line.data) for line in self.lines)

    def room(self) -> int:
        """How much more input the driver should hand us now (0: throttle until a reader takes some)."""
        return max(0, INPUT_LIMIT - self.buffered())

    def flush_input(self) -> None:
        """TCIFLUSH, TCSETSF, ISIG: forget everything typed (reset_buffer_flags)."""
        self.edit.clear()
        self.lines.clear()
        self.raw.clear()
        self.lnext = False
        self.erasing = False

    # ------------------------------------------------------------------ output

    def process_output(self, data: bytes) -> bytes:
        """OPOST processing of bytes on their way to the screen (do_output_char), tracking the column."""
        t = self.termios
        if not t.o(OPOST):
            return bytes(data)
        data = bytes(data)
        if not t.oflag & (OLCUC | OCRNL | ONOCR | ONLRET) and not _COLUMN_MOVERS.search(data):
            fast = self._plain_output(data, t.o(ONLCR), t.i(IUTF8))
            if fast is not None:
                return fast
        return self._output_slow(data)

    def _output_slow(self, data: bytes) -> bytes:
        """do_output_char for each byte."""
        t = self.termios
        onlcr, ocrnl, onocr, onlret = t.o(ONLCR), t.o(OCRNL), t.o(ONOCR), t.o(ONLRET)
        olcuc, xtabs, utf8 = t.o(OLCUC), (t.oflag & TABDLY) == XTABS, t.i(IUTF8)
        out = bytearray()
        column = self.column
        for c in data:
            if c == 10:
                if onlret:
                    column = 0
                if onlcr:
                    column = self.canon_column = 0
                    out += b"\r\n"
                    continue
                self.canon_column = column
            elif c == 13:
                if onocr and column == 0:
                    continue
                if ocrnl:
                    c = 10
                    if onlret:
                        column = self.canon_column = 0
                else:
                    column = self.canon_column = 0
            elif c == 9:
                spaces = 8 - (column & 7)
                column += spaces
                if xtabs:
                    out += b" " * spaces
                    continue
            elif c == 8:
                if column > 0:
                    column -= 1
            elif not iscntrl(c):
                if olcuc and 97 <= c <= 122:
                    c -= 32
                if not (utf8 and (c & 0xC0) == 0x80):
                    column += 1
            out.append(c)
        self.column = column
        return bytes(out)

    def _plain_output(self, data: bytes, onlcr: bool, utf8: bool) -> bytes | None:
        """The common case at C speed: no tab, backspace or CR, and newlines (if any) under ONLCR."""
        last_nl = data.rfind(b"\n")
        if last_nl >= 0 and not onlcr:
            return None                 # a newline without ONLCR keeps the column: the slow path knows how
        tail = data[last_nl + 1:]
        width = len(tail.translate(None, _CONTROL_BYTES + (_CONTINUATION_BYTES if utf8 else b"")))
        if last_nl >= 0:
            self.canon_column = 0
            self.column = width
            return data.replace(b"\n", b"\r\n")
        self.column += width
        return data
