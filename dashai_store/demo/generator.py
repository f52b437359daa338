"""The generative session's stand-in model: deterministic text and a picture, no weights."""

from __future__ import annotations

import json
import math
import random
from typing import Any

from .png import png_bytes

__all__ = ["IMAGE_HEIGHT", "IMAGE_WIDTH", "dusk_image", "generate_text"]

IMAGE_WIDTH, IMAGE_HEIGHT = 96, 64

_VOCABULARY = (
    "customers with low income and few visits churn most; the pro plan keeps people; "
    "age raises the risk a little; validation loss settles after a few dozen epochs; "
    "the model is a logistic regression on standardised features"
).split()


def dusk_image(parameters: dict[str, Any], width: int = IMAGE_WIDTH, height: int = IMAGE_HEIGHT) -> bytes:
    """The "generated" picture: a sea at dusk whose sun and palette follow the parameters."""
    rng = random.Random(json.dumps(parameters, sort_keys=True))
    sun_x, sun_y = rng.uniform(0.25, 0.75) * width, height * 0.42
    warmth = float(parameters.get("temperature", 0.7))
    horizon = int(height * 0.58)

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        if y < horizon:
            t = y / horizon
            r, g, b = 40 + 200 * t * min(1.0, warmth), 30 + 90 * t, 110 - 50 * t
            d = math.hypot(x - sun_x, y - sun_y)
            if d < 7:
                r, g, b = 255, 214, 120
            elif d < 11:
                glow = (11 - d) / 4
                r, g, b = r + (255 - r) * glow, g + (180 - g) * glow, b + (90 - b) * glow
        else:
            t = (y - horizon) / (height - horizon)
            wave = 12 * math.sin(x / 3.0 + y * 1.7)
            r, g, b = 20 + 30 * (1 - t) + wave, 50 + 40 * (1 - t), 90 + 60 * (1 - t) + wave
            if abs(x - sun_x) < 6 - 4 * t and (y % 3) == 0:
                r, g, b = 230, 160, 90
        return tuple(max(0, min(255, int(c))) for c in (r, g, b))  # type: ignore[return-value]

    return png_bytes(width, height, pixel)


def generate_text(prompt: str, parameters: dict[str, Any]) -> str:
    """A tiny deterministic "language model": seeded by the prompt and the parameters."""
    rng = random.Random(f"{parameters.get('seed')}|{prompt}")
    count = max(4, int(parameters.get("max_new_tokens", 48)) // 6)
    temperature = float(parameters.get("temperature", 0.7))
    top = max(2, int(len(_VOCABULARY) * float(parameters.get("top_p", 0.9))))
    start = rng.randrange(len(_VOCABULARY))
    words = []
    for i in range(count):
        jump = int(rng.expovariate(1.0 / max(temperature, 0.05)) * 3)
        words.append(_VOCABULARY[(start + i + jump) % top])
    return " ".join(words).capitalize() + "."
