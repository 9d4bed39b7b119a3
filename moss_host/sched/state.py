"""A task's run state, as the scheduler and ps(1) see it."""
from __future__ import annotations

import enum


class State(enum.Enum):
    RUNNABLE = "R"     # on a CPU or waiting for one
    BLOCKED = "S"      # inside a syscall that awaits something
    STOPPED = "T"      # stopped by SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU until SIGCONT
    ZOMBIE = "Z"
