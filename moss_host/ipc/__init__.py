"""System V IPC (Linux's ipc/): shared memory segments, semaphore sets and message queues,
kept in one namespace the kernel owns (namespace.py); ids.py is what the three share (ipc/util.c).

Subsystems of their own: the syscalls (syscalls/ipc.py) decode arguments and call in; exit
(proc/lifecycle.py) hands back a process's semaphore adjustments; procfs reads the tables.
"""
