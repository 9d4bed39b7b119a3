"""The guest's console: the open files behind fds 0, 1 and 2 of the first process.

Today they are the host's own descriptors (moss_host.fs.hostfile); the line
discipline work replaces this with a tty device when stdin is a terminal.
"""
from __future__ import annotations


def open_console(kernel):
    """The three open files for fds 0, 1, 2 of pid 1."""
    from moss_host.fs.hostfile import make_console_files
    return make_console_files()
