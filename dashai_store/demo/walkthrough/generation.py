"""Step: a generative session: parameter updates (one a no-op), a restore, three processes."""

from __future__ import annotations

from typing import Any

from ..exceptions import DemoFailed
from ..generator import IMAGE_HEIGHT, IMAGE_WIDTH, dusk_image, generate_text
from .state import Walk

__all__ = ["generative"]


def _process(walk: Walk, session_id: int, prompt: str, *, image: bool = False) -> int:
    """One process run with the session's current parameters: text out (and an image)."""
    from ... import generative

    process = generative.create_process(session_id, [("str", prompt)])
    generative.deliver(process.id, job_id=f"demo-generative-{process.id}")
    generative.start(process.id)
    snapshot = generative.get_snapshot(process.parameter_history_id or 0)
    outputs: list[tuple[str, Any]] = [("str", generate_text(prompt, snapshot.parameters))]
    if image:
        outputs.insert(0, ("image", dusk_image(snapshot.parameters)))
        outputs.append(("json", {"width": IMAGE_WIDTH, "height": IMAGE_HEIGHT, "format": "png"}))
    generative.add_outputs(process.id, outputs)
    generative.finish(process.id)
    walk.processes.append(process.id)
    return process.id


def generative(walk: Walk) -> None:
    """The session's parameter timeline, with a process run between changes."""
    from ... import generative

    session = generative.create_session(
        f"{walk.prefix}assistant",
        "TextToTextGenerationTask",
        "tiny-template-lm",
        {"temperature": 0.7, "max_new_tokens": 48, "top_p": 0.9, "seed": 7},
        description="a deterministic stand-in for a language model",
    )
    sid = session.id
    walk.ids["generative_session"] = sid
    _process(walk, sid, "Why do customers churn?")
    first_update = generative.update_parameters(sid, {"temperature": 1.1})
    generative.update_parameters(sid, {"max_new_tokens": 96, "stop": ["\n\n"]})
    current = generative.parameter_history(sid)[-1]
    if generative.update_parameters(sid, {"temperature": 1.1}).id != current.id:
        raise DemoFailed(f"generative session {sid}: a no-op update wrote a snapshot")
    _process(walk, sid, "Which plan keeps customers?")
    generative.update_parameters(sid, {"temperature": 0.4, "top_p": 0.6})
    generative.restore_parameters(sid, first_update.id)
    _process(walk, sid, "Draw the sea at dusk.", image=True)
    history = generative.parameter_history(sid)
    payload_count = sum(len(generative.payloads(pid)) for pid in walk.processes)
    walk.facts.update(
        snapshots=len(history),
        parameter_updates=3,
        processes=len(walk.processes),
        payloads=payload_count,
        restored_snapshot=first_update.id,
    )
