"""The job queue between the API process and the worker: one JSON-lines file.

It plays huey's part in DashAI: the API appends a job (its kind, the row id, arguments,
and the queue's job id), the worker tails the file and runs each job once, in order.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

STOP = "stop"


class JobQueue:
    """Append-only jobs; :meth:`consume` yields them in order as they arrive."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @staticmethod
    def new_id() -> str:
        """A fresh queue id (DashAI's huey id), for an API that records it before enqueueing."""
        return f"huey-{uuid.uuid4().hex[:12]}"

    def enqueue(self, job: str, entity_id: int = 0, huey_id: str | None = None, **args: Any) -> str:
        """Append a job; returns its queue id.

        The API marks the row DELIVERED *before* enqueueing, so the worker never finds a
        row still NOT_STARTED (DashAI has that race; the replay must not be flaky)."""
        huey_id = huey_id or self.new_id()
        line = json.dumps({"job": job, "id": entity_id, "huey_id": huey_id, **args}) + "\n"
        with open(self.path, "a", encoding="utf-8") as out:  # one write: a line is never torn
            out.write(line)
            out.flush()
            os.fsync(out.fileno())
        return huey_id

    def consume(self, poll: float = 0.02) -> Iterator[dict[str, Any]]:
        """Every job in order, waiting for new ones, until a STOP job."""
        offset = 0
        while True:
            if self.path.exists():
                with open(self.path, encoding="utf-8") as source:
                    source.seek(offset)
                    chunk = source.read()
                complete = chunk[: chunk.rfind("\n") + 1]
                offset += len(complete.encode())
                for line in complete.splitlines():
                    job: dict[str, Any] = json.loads(line)
                    if job["job"] == STOP:
                        return
                    yield job
            time.sleep(poll)
