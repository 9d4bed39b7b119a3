"""The N_TTY line discipline without QEMU: cooking, echo, signals, read rules, output processing."""
from moss_host.tty.ldisc import SIGINT, SIGQUIT, SIGTSTP, LineDiscipline
from moss_host.tty.termios import (ECHO, ECHOCTL, ECHOE, ECHOK, ECHOKE, ECHONL, ECHOPRT, ICANON, ICRNL, IEXTEN,
                                   IGNCR, INLCR, ISIG, ISTRIP, IUTF8, IXANY, NOFLSH, OCRNL, ONLCR, ONLRET,
                                   ONOCR, OPOST, VEOL, VMIN, VTIME, XTABS, Termios)


def cooked(**changes) -> LineDiscipline:
    """A line discipline with the console defaults, changed by iflag=..., lflag=... etc."""
    t = Termios()
    for name, value in changes.items():
        setattr(t, name, value)
    return LineDiscipline(t)


def raw_mode(vmin=1, vtime=0) -> LineDiscipline:
    t = Termios()
    t.lflag &= ~(ICANON | ECHO | ISIG | IEXTEN)
    t.cc[VMIN], t.cc[VTIME] = vmin, vtime
    return LineDiscipline(t)


# ---------------------------------------------------------------- canonical input

def test_canonical_line_is_readable_only_after_newline():
    ld = cooked()
    r = ld.receive(b"hello")
    assert not r.readable and not ld.read_available()
    r = ld.receive(b"\r")
    assert r.readable and ld.read_available()
    assert ld.take(100) == b"hello\n"


def test_canonical_read_returns_one_line_at_a_time():
    ld = cooked()
    ld.receive(b"one\rtwo\r")
    assert ld.take(100) == b"one\n"
    assert ld.take(100) == b"two\n"
    assert not ld.read_available()


def test_canonical_partial_read_leaves_rest_of_line():
    ld = cooked()
    ld.receive(b"abcdef\n")
    assert ld.take(4) == b"abcd"
    assert ld.take(100) == b"ef\n"


def test_erase_removes_last_character_and_echoes_backspace_space_backspace():
    ld = cooked()
    r = ld.receive(b"ab\x7f")
    assert bytes(r.output) == b"ab\b \b"
    ld.receive(b"c\n")
    assert ld.take(100) == b"ac\n"


def test_erase_without_echoe_echoes_the_erase_character():
    ld = cooked(lflag=Termios().lflag & ~ECHOE)
    r = ld.receive(b"ab\x7f")
    assert bytes(r.output) == b"ab^?"


def test_erase_at_line_start_does_nothing():
    ld = cooked()
    r = ld.receive(b"\x7f\x7fx\n")
    assert bytes(r.output) == b"x\r\n"
    assert ld.take(100) == b"x\n"


def test_kill_erases_whole_line_visually_with_echoke():
    ld = cooked()
    r = ld.receive(b"abc\x15")
    assert bytes(r.output) == b"abc" + b"\b \b" * 3
    ld.receive(b"z\n")
    assert ld.take(100) == b"z\n"


def test_kill_without_echoke_echoes_kill_char_and_newline():
    ld = cooked(lflag=Termios().lflag & ~ECHOKE)
    r = ld.receive(b"abc\x15")
    assert bytes(r.output) == b"abc^U\r\n"
    assert ld.edit == b""


def test_werase_erases_previous_word_and_trailing_blanks():
    ld = cooked()
    ld.receive(b"foo bar  \x17")
    assert ld.edit == b"foo "
    ld.receive(b"\x17")
    assert ld.edit == b""


def test_werase_stops_at_punctuation():
    ld = cooked()
    ld.receive(b"a.b_c\x17")
    assert ld.edit == b"a."


def test_werase_needs_iexten():
    ld = cooked(lflag=Termios().lflag & ~IEXTEN)
    ld.receive(b"foo\x17\n")
    assert ld.take(100) == b"foo\x17\n"


def test_erase_removes_a_whole_utf8_character_with_iutf8():
    ld = cooked(iflag=Termios().iflag | IUTF8)
    r = ld.receive("aé".encode() + b"\x7f")
    assert ld.edit == b"a"
    assert bytes(r.output).endswith(b"\b \b") and bytes(r.output).count(b"\b \b") == 1


def test_erase_of_tab_moves_back_to_the_column_before_it():
    ld = cooked()
    r = ld.receive(b"ab\t\x7f")
    assert bytes(r.output) == b"ab\t" + b"\b" * 6
    assert ld.edit == b"ab"


def test_erase_of_control_character_removes_both_echoed_columns():
    ld = cooked()
    r = ld.receive(b"\x01\x7f")
    assert bytes(r.output) == b"^A" + b"\b \b\b \b"


def test_echoprt_shows_erased_characters_between_backslash_and_slash():
    ld = cooked(lflag=Termios().lflag | ECHOPRT)
    r = ld.receive(b"ab\x7f\x7fc")
    assert bytes(r.output) == b"ab\\ba/c"


def test_lnext_makes_next_character_literal():
    ld = cooked()
    r = ld.receive(b"\x16\x03\x16\x7f\n")
    assert r.signals == []
    assert ld.take(100) == b"\x03\x7f\n"
    assert bytes(r.output).startswith(b"^\b^C^\b^?")


def test_reprint_echoes_the_line_again():
    ld = cooked()
    r = ld.receive(b"abc\x12")
    assert bytes(r.output) == b"abc^R\r\nabc"


def test_eof_at_line_start_reads_as_end_of_file():
    ld = cooked()
    r = ld.receive(b"\x04")
    assert r.readable and ld.read_available()
    assert ld.take(100) == b""
    assert not ld.read_available()


def test_eof_after_text_ends_the_line_without_a_newline_and_is_not_echoed():
    ld = cooked()
    r = ld.receive(b"abc\x04")
    assert bytes(r.output) == b"abc"
    assert ld.take(100) == b"abc"
    assert not ld.read_available()


def test_eof_counts_as_a_byte_of_a_short_read_as_in_linux():
    ld = cooked()
    ld.receive(b"ab\x04")
    assert ld.take(2) == b"ab"
    assert ld.read_available()
    assert ld.take(2) == b""        # the EOF marker: the next read returns 0


def test_veol_ends_a_line_and_is_kept():
    t = Termios()
    t.cc[VEOL] = ord(";")
    ld = LineDiscipline(t)
    ld.receive(b"ls;")
    assert ld.take(100) == b"ls;"


def test_disabled_special_char_zero_is_ordinary():
    ld = cooked()
    ld.receive(b"a\x00b\n")         # VEOL is 0 (disabled): NUL is plain data
    assert ld.take(100) == b"a\x00b\n"


def test_canonical_line_length_is_limited():
    ld = cooked()
    ld.receive(b"x" * 5000 + b"\n")
    assert ld.take(10000) == b"x" * 4095 + b"\n"


# ---------------------------------------------------------------- CR/NL input conversions

def test_icrnl_turns_return_into_newline():
    ld = cooked()
    ld.receive(b"a\r")
    assert ld.take(100) == b"a\n"


def test_igncr_drops_return():
    ld = cooked(iflag=Termios().iflag | IGNCR)
    ld.receive(b"a\rb\n")
    assert ld.take(100) == b"ab\n"


def test_inlcr_turns_newline_into_return():
    ld = raw_mode()
    ld.set_termios(Termios(iflag=INLCR, lflag=0))
    ld.receive(b"a\n")
    assert ld.take(100) == b"a\r"


def test_istrip_clears_the_eighth_bit():
    ld = raw_mode()
    t = ld.termios.copy()
    t.iflag |= ISTRIP
    ld.set_termios(t)
    ld.receive(b"\xc1")
    assert ld.take(10) == b"A"


# ---------------------------------------------------------------- echo

def test_echo_of_control_character_is_caret_notation():
    ld = cooked()
    r = ld.receive(b"\x01\x1b")
    assert bytes(r.output) == b"^A^["


def test_echo_of_newline_goes_through_onlcr():
    ld = cooked()
    r = ld.receive(b"hi\r")
    assert bytes(r.output) == b"hi\r\n"


def test_no_echo_when_echo_is_off_but_echonl_still_echoes_newline():
    ld = cooked(lflag=(Termios().lflag & ~ECHO) | ECHONL)
    r = ld.receive(b"secret\r")
    assert bytes(r.output) == b"\r\n"
    assert ld.take(100) == b"secret\n"


def test_echo_without_echoctl_shows_control_characters_raw():
    ld = cooked(lflag=Termios().lflag & ~ECHOCTL)
    r = ld.receive(b"\x01")
    assert bytes(r.output) == b"\x01"


def test_noncanonical_echo_of_literal_newline_is_caret_j():
    ld = cooked(lflag=(Termios().lflag & ~ICANON))
    r = ld.receive(b"\n\r")
    assert bytes(r.output) == b"^J\r\n"      # Linux: NL is ordinary there, CR (ICRNL) is special


# ---------------------------------------------------------------- signals

def test_interrupt_character_raises_sigint_and_echoes_caret_c():
    ld = cooked()
    r = ld.receive(b"abc\x03")
    assert r.signals == [SIGINT]
    assert bytes(r.output) == b"^C"             # the unsent echo of abc is dropped with the flush
    assert r.flush_output


def test_interrupt_flushes_pending_input():
    ld = cooked()
    ld.receive(b"done\rtyped")
    ld.receive(b"\x03")
    assert not ld.read_available() and ld.edit == b""


def test_noflsh_keeps_input_on_signal():
    ld = cooked(lflag=Termios().lflag | NOFLSH)
    ld.receive(b"done\r")
    r = ld.receive(b"\x1c")
    assert r.signals == [SIGQUIT] and not r.flush_output
    assert ld.take(100) == b"done\n"


def test_suspend_character_raises_sigtstp():
    ld = cooked()
    assert ld.receive(b"\x1a").signals == [SIGTSTP]


def test_signal_characters_are_data_without_isig():
    ld = cooked(lflag=Termios().lflag & ~ISIG)
    r = ld.receive(b"\x03\n")
    assert r.signals == []
    assert ld.take(100) == b"\x03\n"


def test_signals_work_in_noncanonical_mode():
    ld = cooked(lflag=Termios().lflag & ~ICANON)
    assert ld.receive(b"\x03").signals == [SIGINT]


# ---------------------------------------------------------------- flow control

def test_stop_and_start_characters_control_output_and_are_not_input():
    ld = cooked()
    r = ld.receive(b"\x13")
    assert ld.stopped and r.flow_changed
    r = ld.receive(b"\x11")
    assert not ld.stopped and r.flow_changed
    assert ld.edit == b""


def test_ixany_restarts_output_on_any_key():
    ld = cooked(iflag=Termios().iflag | IXANY)
    ld.receive(b"\x13")
    ld.receive(b"x")
    assert not ld.stopped and ld.edit == b"x"


# ---------------------------------------------------------------- non-canonical reads

def test_noncanonical_bytes_are_readable_at_once():
    ld = raw_mode()
    r = ld.receive(b"\x1b[A")
    assert r.readable
    assert ld.take(2) == b"\x1b["
    assert ld.take(10) == b"A"


def test_read_params_follow_vmin_and_vtime():
    assert cooked().read_params() == (0, None, None)
    assert raw_mode(1, 0).read_params() == (1, None, None)          # block for one byte
    assert raw_mode(4, 5).read_params() == (4, 0.5, None)           # inter-byte timer after the first
    assert raw_mode(0, 3).read_params() == (1, None, 0.30000000000000004)   # one byte or the timeout
    assert raw_mode(0, 0).read_params() == (1, None, 0)             # never wait


def test_poll_with_vmin_and_no_vtime_needs_vmin_bytes():
    ld = raw_mode(3, 0)
    ld.receive(b"ab")
    assert ld.read_available() and not ld.poll_readable()
    ld.receive(b"c")
    assert ld.poll_readable()


def test_switching_to_noncanonical_makes_the_partial_line_readable():
    ld = cooked()
    ld.receive(b"one\rtw")
    t = ld.termios.copy()
    t.lflag &= ~ICANON
    ld.set_termios(t)
    assert ld.take(100) == b"one\ntw"


def test_switching_to_canonical_pushes_raw_input_as_a_line():
    ld = raw_mode()
    ld.receive(b"xyz")
    ld.set_termios(Termios())
    assert ld.read_available()
    assert ld.take(100) == b"xyz"


# ---------------------------------------------------------------- FIONREAD and flushing

def test_fionread_counts_completed_lines_only_in_canonical_mode():
    ld = cooked()
    ld.receive(b"abc\rde")
    assert ld.inq() == 4
    ld.receive(b"\x04")                         # "de" ended by EOF: 2 more, the EOF not counted
    assert ld.inq() == 6


def test_fionread_counts_everything_in_noncanonical_mode():
    ld = raw_mode()
    ld.receive(b"hello")
    assert ld.inq() == 5


def test_flush_input_forgets_everything_typed():
    ld = cooked()
    ld.receive(b"abc\rdef")
    ld.flush_input()
    assert ld.inq() == 0 and ld.edit == b"" and not ld.read_available()


# ---------------------------------------------------------------- output processing

def test_onlcr_maps_newline_to_crlf():
    assert cooked().process_output(b"a\nb\n") == b"a\r\nb\r\n"


def test_no_output_processing_without_opost():
    ld = cooked(oflag=ONLCR)
    assert ld.process_output(b"a\n") == b"a\n"


def test_ocrnl_maps_return_to_newline():
    assert cooked(oflag=OPOST | OCRNL).process_output(b"a\r") == b"a\n"


def test_onocr_drops_return_in_column_zero():
    ld = cooked(oflag=OPOST | ONOCR)
    assert ld.process_output(b"\rab\r") == b"ab\r"


def test_onlret_newline_returns_the_carriage():
    ld = cooked(oflag=OPOST | ONLRET)
    ld.process_output(b"abc\n")
    assert ld.column == 0


def test_xtabs_expands_tabs_to_the_next_stop():
    ld = cooked(oflag=OPOST | XTABS)
    assert ld.process_output(b"ab\tc") == b"ab      c"


def test_column_tracking_counts_utf8_characters_once():
    ld = cooked(iflag=Termios().iflag | IUTF8)
    ld.process_output("héllo".encode())
    assert ld.column == 5


def test_echok_alone_echoes_newline_after_kill():
    ld = cooked(lflag=ICANON | ECHO | ECHOK)
    r = ld.receive(b"ab\x15")
    assert bytes(r.output) == b"ab\x15\r\n"


def test_icrnl_off_keeps_return_as_data():
    ld = cooked(iflag=0)
    ld.receive(b"a\rb\n")
    assert ld.take(100) == b"a\rb\n"


def test_echo_of_noncanonical_input_with_default_flags_except_icanon():
    ld = cooked(lflag=Termios().lflag & ~ICANON, iflag=ICRNL)
    r = ld.receive(b"ab")
    assert bytes(r.output) == b"ab"
    assert ld.take(10) == b"ab"


def test_output_column_used_by_tab_erase_after_prompt():
    ld = cooked()
    ld.process_output(b"$ ")                    # the prompt puts the line start at column 2
    r = ld.receive(b"\t\x7f")
    assert bytes(r.output) == b"\t" + b"\b" * 6


def test_fast_output_path_matches_byte_by_byte_processing():
    import random
    rng = random.Random(6)
    alphabet = b"ab \n\t\r\b\x01\x7f" + "é€".encode()
    for _ in range(2000):
        oflag = OPOST | rng.choice([0, ONLCR]) | rng.choice([0, 0, OCRNL, ONOCR, ONLRET, XTABS])
        iflag = rng.choice([0, IUTF8])
        data = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))
        start = rng.randrange(0, 20)
        fast, slow = cooked(oflag=oflag, iflag=iflag), cooked(oflag=oflag, iflag=iflag)
        fast.column = slow.column = start
        assert fast.process_output(data) == slow._output_slow(data), (oflag, iflag, data)
        assert (fast.column, fast.canon_column) == (slow.column, slow.canon_column), (oflag, iflag, data)
