"""The scheduler: which task runs on which CPU, and when.

    state.py      a task's run state (runnable, blocked in a syscall, stopped, zombie)
    runqueue.py   one CPU's queue of runnable tasks and its time slice
    scheduler.py  enqueue, wake, sleep in a syscall, interrupt a sleep, continue a stopped
                  task, detach an exiting one, yield; the clock since boot
    policy.py     scheduling policies and priorities, recorded per thread, and what a
                  new task inherits of them

The per-CPU loop that switches contexts and answers traps is proc/cpu.py; it asks the
scheduler what to run. Round robin on one CPU today; per-CPU state lives here so the SMP
EEVDF scheduler to come changes the policy, not its callers.
"""
