"""A progress bar with rate and ETA, drawn only on a terminal."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO


class ProgressBar:
    def __init__(self, label: str, unit: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.unit = unit
        # Looked up now, not at import, so that a redirected stderr is honoured.
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()
        self.started = time.monotonic()
        self.first: int | None = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.enabled:
            self.stream.write("\n")

    def update(self, done: int, total: int) -> None:
        if self.first is None:
            self.first = done
        if not self.enabled:
            return
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = (done - self.first) / elapsed
        left = (total - done) / rate if rate > 0 else float("inf")
        share = done / total if total else 1.0
        filled = int(share * 30)
        eta = f"{left:,.0f}s" if left != float("inf") else "?"
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] "
            f"{done:,}/{total:,} {self.unit}  {rate:,.0f}/s  ETA {eta}"
        )
        self.stream.flush()
