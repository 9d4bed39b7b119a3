"""Drive the README's first command (`./scripts/setup.sh && just boot`) through a real
pseudo-terminal: wait for the shell prompt, run one command, power off, and check that
moss-host ends by itself with status 0. Used by `just fresh-check`; exits non-zero with
the console's last output when a step does not happen."""
from __future__ import annotations

import sys

import pexpect

PROMPT = "moss# "
BOOT_TIMEOUT = 900          # includes setup.sh and the first `just build` on a fresh clone
STEP_TIMEOUT = 120


def main() -> int:
    child = pexpect.spawn("bash", ["-c", "./scripts/setup.sh && just boot"], timeout=STEP_TIMEOUT,
                          encoding="utf-8", codec_errors="replace", dimensions=(30, 100))
    child.logfile_read = sys.stdout
    try:
        child.expect_exact(PROMPT, timeout=BOOT_TIMEOUT)
        child.sendline("echo fresh-$((6 * 7))")
        child.expect_exact("fresh-42")
        child.expect_exact(PROMPT)
        child.sendline("poweroff -f")
        child.expect(pexpect.EOF)
    except (pexpect.TIMEOUT, pexpect.EOF) as e:
        print(f"\nboot_check: FAILED waiting for the console ({type(e).__name__})", file=sys.stderr)
        child.terminate(force=True)
        return 1
    child.close()
    if child.exitstatus != 0:
        print(f"\nboot_check: FAILED: `just boot` exited with {child.exitstatus} ({child.signalstatus})",
              file=sys.stderr)
        return 1
    print("\nboot_check: booted to the prompt, ran a command, powered off")
    return 0


if __name__ == "__main__":
    sys.exit(main())
