"""The scheduler: which task runs on which CPU, and when.

    state.py      a task's run state (runnable, blocked in a syscall, stopped, zombie)
    runqueue.py   one CPU's queue of runnable tasks, its tick and its preemption decisions
    eevdf.py      the fair queue itself: Linux's EEVDF (weights, virtual runtimes and
                  deadlines, eligibility, lag kept across sleep), pure arithmetic
    scheduler.py  enqueue, wake, sleep in a syscall, interrupt a sleep, continue a stopped
                  task, detach an exiting one, yield; the clock since boot
    policy.py     scheduling policies and priorities, recorded per thread, what a new
                  task inherits of them, and the weight they give its fair entity

The per-CPU loop that switches contexts and answers traps is proc/cpu.py; it asks the
scheduler what to run. Each CPU's run queue picks by EEVDF, as Linux since 6.6: CPU time
in proportion to weight (nice), the eligible task with the earliest virtual deadline
first, a 4 ms tick (HZ=250) that switches when the running task's request is used up, and
wake-up preemption.
"""
