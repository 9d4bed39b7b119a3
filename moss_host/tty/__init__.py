"""Terminals: termios.py (the arm64 user-space layouts and flags), ldisc.py (the N_TTY line
discipline as pure logic), tty.py (a terminal device and its open files, job control),
console.py (the host's terminal as the guest's console, /dev/console and /dev/tty),
pty.py (pseudo-terminals: /dev/ptmx masters and their /dev/pts/N slaves), devpts.py (the
filesystem on /dev/pts that shows them)."""
