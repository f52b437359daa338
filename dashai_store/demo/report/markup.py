"""HTML building blocks of the report: escaping, tables, payloads, figures, the stylesheet."""

from __future__ import annotations

import base64
import html
import json
from typing import Any

__all__ = ["CSS", "FigureRenderer", "change_text", "escape", "json_text", "payload_html", "table"]


class FigureRenderer:
    """Renders figures in document order; the first carries plotly.js inline."""

    def __init__(self) -> None:
        self.first = True

    def __call__(self, figure: Any, div_id: str, height: int) -> str:
        import plotly.graph_objects as go
        import plotly.io as pio

        figure = figure if isinstance(figure, go.Figure) else go.Figure(figure)
        figure.update_layout(height=height)
        text = str(
            pio.to_html(
                figure,
                full_html=False,
                include_plotlyjs=self.first,  # True once: inline, never a CDN
                include_mathjax=False,
                div_id=div_id,
                default_width="100%",
                default_height=f"{height}px",
                config={"displaylogo": False, "responsive": True},
            )
        )
        self.first = False
        return f'<div class="figure">{text}</div>'


def escape(value: Any) -> str:
    """``value`` as HTML text (quotes escaped too, so it fits an attribute)."""
    return html.escape(str(value), quote=True)


def json_text(value: Any) -> str:
    """``value`` as compact, key-sorted JSON text."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def table(header: list[str], rows: list[list[Any]], raw: bool = False) -> str:
    """An HTML table; cells are escaped unless ``raw`` (they are HTML already)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell if raw else escape(cell)}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def change_text(added: dict[str, Any], removed: dict[str, Any], changed: dict[str, list[Any]]) -> str:
    """One parameter snapshot's change as text: ``+k=v``, ``-k``, ``k: old → new``."""
    parts = [f"+{k}={json_text(v)}" for k, v in added.items()]
    parts += [f"-{k}" for k in removed]
    parts += [f"{k}: {json_text(old)} → {json_text(new)}" for k, (old, new) in changed.items()]
    return ", ".join(parts) or "(none)"


def payload_html(data_type: str, value: Any) -> str:
    """A generative payload as HTML: an image inlined as a data: URI, text quoted."""
    if data_type == "image" and isinstance(value, bytes):
        encoded = base64.b64encode(value).decode("ascii")
        return (
            f'<img class="payload" alt="generated image ({len(value)} bytes)" '
            f'src="data:image/png;base64,{encoded}">'
        )
    if data_type == "bytes" and isinstance(value, bytes):
        return f"<code>{len(value)} bytes</code>"
    if data_type == "json":
        return f"<code>{escape(json_text(value))}</code>"
    return f"<q>{escape(value)}</q>"


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #222;
       background: #fafafa; }
main { max-width: 1240px; margin: 0 auto; padding: 16px 20px 40px; }
h1 { font-size: 22px; margin: 4px 0; } h2 { font-size: 17px; margin: 22px 0 8px; }
.sub { color: #666; font-size: 13px; margin-bottom: 10px; }
.cards { display: flex; flex-wrap: wrap; gap: 8px; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 6px 12px; font-size: 13px; }
.card b { display: block; font-size: 18px; }
.ok { color: #1a7f37; } .bad { color: #b42318; }
.figure { background: #fff; border: 1px solid #ddd; border-radius: 6px; margin: 6px 0; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
.grid3 { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 10px; }
table { border-collapse: collapse; background: #fff; font-size: 13px; margin: 6px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
img.payload { width: 288px; height: 192px; image-rendering: pixelated; border: 1px solid #ccc; }
code { font-size: 12px; }
"""
"""The page's stylesheet (inline: the report loads nothing)."""
