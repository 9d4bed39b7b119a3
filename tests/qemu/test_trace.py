"""--trace against Debian's strace: the tests/programs/trace_*.c programs run under
`moss-host run --trace`, and their lines are compared with what strace printed for the same
static program under Linux 6.1 in QEMU (tests/golden/trace/*.txt; regenerate them with
`python3 scripts/trace_golden.py`). Addresses, pids and CPU times are masked; glibc's start-up
calls (up to its RELRO mprotect) are left out, since the program's path and the process's
environment differ between the two runs. Also: class filters, --trace-pid, --trace-json and
--trace-summary."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import REPO, moss_run

pytestmark = pytest.mark.qemu

GOLDEN = REPO / "tests" / "golden" / "trace"
PROGRAMS = sorted(p.stem for p in GOLDEN.glob("trace_*.txt"))

_STRACE_PID = re.compile(r"^(\d+) +")
_MOSS_PID = re.compile(r"^\[pid +(\d+)\] ")
_PID_RESULT = re.compile(r"^((?:clone|clone3|getpid|gettid|set_tid_address|wait4)\(.*\) += )\d+$")
_PID_ARG = re.compile(r"^((?:wait4|kill|tkill|tgkill)\()\d+")
_MASKS = [(re.compile(r"0x[0-9a-f]+"), "0xADDR"),
          (re.compile(r"si_pid=\d+"), "si_pid=PID"),
          (re.compile(r"si_utime=\d+, si_stime=\d+"), "si_utime=T, si_stime=T"),
          (re.compile(r'nodename="[^"]*"'), 'nodename="HOST"'),
          (re.compile(r" +(= .*)$"), r" \1")]           # strace's result column


def split_pid(line: str, pattern: re.Pattern) -> tuple[int | None, str]:
    m = pattern.match(line)
    return (int(m.group(1)), line[m.end():]) if m else (None, line)


def merge_resumed(lines: list[tuple[int | None, str]]) -> list[tuple[int | None, str]]:
    """strace -f's `call(a,  <unfinished ...>` and `<... call resumed>b) = r` as one line."""
    out: list[tuple[int | None, str]] = []
    pending: dict[int | None, int] = {}
    for pid, text in lines:
        if text.endswith(" <unfinished ...>"):
            pending[pid] = len(out)
            out.append((pid, text[:-len(" <unfinished ...>")]))
        elif text.startswith("<... ") and pid in pending:
            i = pending.pop(pid)
            out[i] = (pid, out[i][1].rstrip() + (" " if out[i][1].endswith(", ") else "")
                      + text.split(" resumed>", 1)[1])
            out[i] = (pid, out[i][1].replace(",  ", ", "))
        else:
            out.append((pid, text))
    return out


def normalized(lines: list[tuple[int | None, str]]) -> dict[int, list[str]]:
    """Per process (numbered by first appearance) its lines after glibc's start-up, masked."""
    first = lines[0][0] if lines else None
    order: dict[int | None, int] = {}
    per: dict[int, list[str]] = {}
    started = False
    for pid, text in merge_resumed(lines):
        if not started:
            if pid == first and text.startswith("mprotect(") and "PROT_READ)" in text:
                started = True
            continue
        text = _PID_ARG.sub(r"\1PID", _PID_RESULT.sub(r"\1PID", text))
        for pattern, repl in _MASKS:
            text = pattern.sub(repl, text)
        n = order.setdefault(pid if pid is not None else first, len(order))
        per.setdefault(n, []).append(text)
    return per


def golden(program: str) -> dict[int, list[str]]:
    raw = (GOLDEN / f"{program}.txt").read_text().splitlines()
    return normalized([split_pid(l, _STRACE_PID) for l in raw if l.strip()])


def moss_trace(tmp_path: Path, program: str, *options: str) -> tuple[str, object]:
    out = tmp_path / f"{program}.trace"
    r = moss_run(f"/tests/{program}", extra=(*options, f"--trace-out={out}"))
    return out.read_text(), r


def moss_lines(text: str) -> dict[int, list[str]]:
    """Lines without `[pid N] ` are the first process's here: the first prefixed line is its
    clone (the prefix appears once a second task exists)."""
    lines = [split_pid(l, _MOSS_PID) for l in text.splitlines() if l.strip()]
    main = next((pid for pid, _ in lines if pid is not None), None)
    return normalized([(main if pid is None else pid, t) for pid, t in lines])


@pytest.mark.differential
@pytest.mark.parametrize("program", PROGRAMS)
def test_trace_lines_match_debian_strace(tmp_path, program):
    text, r = moss_trace(tmp_path, program, "--trace")
    assert r.returncode == 0, r.stderr.decode()
    want, got = golden(program), moss_lines(text)
    assert want, f"no lines in the golden file of {program}"
    for n in sorted(want.keys() | got.keys()):
        assert got.get(n) == want.get(n), f"process #{n} of {program}:\n{text}"


def test_class_filter_shows_only_that_class(tmp_path):
    text, r = moss_trace(tmp_path, "trace_file", "--trace=%file")
    names = {l.split("(")[0] for l in text.splitlines() if "(" in l and not l.startswith("+++")}
    assert {"openat", "newfstatat", "faccessat2", "mkdirat", "unlinkat"} <= names
    assert not names & {"read", "write", "close", "mmap", "lseek", "exit_group"}
    text, r = moss_trace(tmp_path, "trace_file", "--trace=write,%memory")
    names = {l.split("(")[0] for l in text.splitlines() if "(" in l and not l.startswith("+++")}
    assert names == {"write", "mmap", "mprotect", "munmap", "brk"}


def test_trace_pid_follows_one_process(tmp_path):
    text, r = moss_trace(tmp_path, "trace_process", "--trace")
    children = [int(m) for m in re.findall(r"clone\(.*= (\d+)$", text, re.M)]
    assert len(children) == 3, text
    text, r = moss_trace(tmp_path, "trace_process", f"--trace-pid={children[0]}")
    lines = text.splitlines()
    assert lines and all(f"[pid {children[0]:>5}]" in l or "[pid" not in l for l in lines), text
    assert any('write(1, "child\\n", 6)' in l for l in lines)
    assert lines[-1].endswith("+++ exited with 3 +++")
    assert not any("parent" in l or "clone(" in l for l in lines)


def test_trace_json_is_one_object_per_call(tmp_path):
    text, r = moss_trace(tmp_path, "trace_file", "--trace-json")
    objs = [json.loads(l) for l in text.splitlines()]
    calls = [o for o in objs if "name" in o]
    opened = [o for o in calls if o["name"] == "openat" and o["errno"] == "ENOENT"]
    assert len(opened) == 1 and opened[0]["args"]["arg1"] == '"/nonexistent/file"'
    assert opened[0]["result"] == -2 and isinstance(opened[0]["host_ns"], int)
    assert all(set(o) >= {"pid", "name", "args", "raw", "result", "errno", "host_ns"} for o in calls)
    assert objs[-1] == {"pid": objs[-1]["pid"], "event": "exit", "text": "+++ exited with 0 +++"}


def test_trace_summary_has_a_row_per_syscall(tmp_path):
    text, r = moss_trace(tmp_path, "trace_file", "--trace-summary")
    lines = text.splitlines()
    assert lines[0].split()[-1] == "syscall" and "median(us)" in lines[0] and "p99(us)" in lines[0]
    rows = {l.split()[-1]: l.split() for l in lines[2:] if not l.startswith("---")}
    assert {"openat", "write", "close", "newfstatat", "unlinkat", "exit_group", "total"} <= rows.keys()
    assert rows["openat"][3:5] == ["3", "1"]           # calls, errors: one ENOENT
    assert rows["write"][3] == "2" and rows["newfstatat"][3] == "4"
    assert not any("openat(" in l for l in lines)       # -c alone: no call lines
