"""--trace-summary: strace -c's table (% time, seconds, usecs/call, calls, errors, syscall)
from the host time each call took, with its median and 99th percentile beside."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _Stats:
    times_ns: list[int] = field(default_factory=list)
    errors: int = 0


def _percentile(sorted_ns: list[int], p: float) -> int:
    """The nearest-rank percentile."""
    if not sorted_ns:
        return 0
    k = max(0, min(len(sorted_ns) - 1, -(-len(sorted_ns) * p // 100) - 1))
    return sorted_ns[int(k)]


class Summary:
    def __init__(self) -> None:
        self.stats: dict[str, _Stats] = {}

    def add(self, name: str, host_ns: int, failed: bool) -> None:
        s = self.stats.get(name)
        if s is None:
            s = self.stats[name] = _Stats()
        s.times_ns.append(host_ns)
        s.errors += failed

    def table(self) -> str:
        header = (f"{'% time':>6} {'seconds':>11} {'usecs/call':>11} {'calls':>9} {'errors':>9} "
                  f"{'median(us)':>11} {'p99(us)':>11} syscall")
        rule = f"{'-' * 6} {'-' * 11} {'-' * 11} {'-' * 9} {'-' * 9} {'-' * 11} {'-' * 11} {'-' * 16}"
        total_ns = sum(sum(s.times_ns) for s in self.stats.values())
        rows = sorted(self.stats.items(), key=lambda kv: (-sum(kv[1].times_ns), kv[0]))
        lines = [header, rule]
        all_ns: list[int] = []
        calls = errors = 0
        for name, s in rows:
            ns = sorted(s.times_ns)
            all_ns += ns
            calls += len(ns)
            errors += s.errors
            lines.append(self._line(sum(ns), total_ns, ns, s.errors, name))
        lines.append(rule)
        lines.append(self._line(total_ns, total_ns, sorted(all_ns), errors, "total"))
        return "\n".join(lines) + "\n"

    @staticmethod
    def _line(ns: int, total_ns: int, sorted_ns: list[int], errors: int, name: str) -> str:
        pct = 100.0 * ns / total_ns if total_ns else 0.0
        calls = len(sorted_ns)
        per_call = ns // 1000 // calls if calls else 0
        err = str(errors) if errors else ""
        return (f"{pct:6.2f} {ns / 1e9:11.6f} {per_call:11d} {calls:9d} {err:>9} "
                f"{_percentile(sorted_ns, 50) / 1000:11.1f} {_percentile(sorted_ns, 99) / 1000:11.1f} {name}")
