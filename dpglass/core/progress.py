"""Progress lines with an ETA for long loops (MD steps, training steps), written to the rule's log."""

from __future__ import annotations

import sys
import time


class Progress:
    """Prints 'label: done/total (pct) elapsed, ETA' at most every `every_s` seconds."""

    def __init__(self, total: int, label: str, every_s: float = 10.0, stream=None):
        self.total, self.label, self.every_s = total, label, every_s
        self.stream = stream or sys.stdout
        self.start = self.last = time.monotonic()

    def update(self, done: int, extra: str = "") -> None:
        now = time.monotonic()
        if now - self.last < self.every_s and done < self.total:
            return
        self.last = now
        elapsed = now - self.start
        eta = elapsed / done * (self.total - done) if done else float("nan")
        print(f"{self.label}: {done}/{self.total} ({100.0 * done / self.total:.0f} %) "
              f"elapsed {_fmt(elapsed)}, ETA {_fmt(eta)}{'  ' + extra if extra else ''}",
              file=self.stream, flush=True)


def _fmt(seconds: float) -> str:
    if seconds != seconds:
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:d}:{minutes:02d}:{secs:02d}"
