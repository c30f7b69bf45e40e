"""The report as one self-contained HTML page: inline CSS, images as data: URIs, no script, nothing fetched —
MLflow shows an HTML artifact in a sandboxed frame from a blob URL, where links to sibling files cannot load."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;margin:0 auto;
     max-width:1400px;padding:1rem 1.5rem 3rem;background:#fff}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.25rem;margin:2rem 0 .5rem;border-bottom:1px solid #ddd}
nav a{margin-right:1rem}.meta{color:#555}
table{border-collapse:collapse;margin:.5rem 0 1rem}caption{text-align:left;padding:.3rem 0;max-width:70rem}
th,td{border-bottom:1px solid #e3e3e3;padding:.25rem .55rem;text-align:right;vertical-align:top;white-space:nowrap}
th[scope=row],th[scope=col]:first-child{text-align:left}thead th{background:#f4f4f4}
th[scope=row]{white-space:normal;overflow-wrap:anywhere;max-width:16rem}
th[scope=colgroup]{text-align:center;border-bottom:1px solid #bbb}
th[scope=rowgroup]{text-align:left;background:#fafafa;padding-top:.6rem;border-bottom:1px solid #bbb}
.sources p{max-width:70rem;margin:.3rem 0}table.sources th,table.sources td{text-align:left}
table.sources td:nth-child(4),table.sources td:last-child{white-space:normal;min-width:12rem;max-width:30rem}
td small{color:#555}td.best .main .num:first-child{color:#c00000;font-weight:700}
td.second .main .num:first-child{color:#0044cc;font-weight:700}
.legend .best{color:#c00000;font-weight:700}.legend .second{color:#0044cc;font-weight:700}
ul.notes{color:#444;margin:.2rem 0 1rem;padding-left:1.2rem}p.missing{color:#666;font-style:italic}
figure{margin:.6rem 0 1.4rem}figcaption{color:#333;max-width:70rem}img{max-width:100%;height:auto}
table.grid{table-layout:fixed;width:100%}table.grid th[scope=col]:first-child{width:11rem}
table.grid td,table.grid th{padding:2px;border:none;text-align:center;vertical-align:middle}
table.grid th{white-space:normal;overflow-wrap:anywhere}
table.grid img{width:100%;height:auto;max-height:160px;object-fit:contain}.scroll{overflow-x:auto}
code{font-size:.9em;background:#f4f4f4;padding:0 .2em}
"""


@dataclass
class Section:
    key: str
    title: str
    body: str | None  # None: nothing to show …
    missing: str = ""  # … and this one line says why


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def img(png: bytes, alt: str) -> str:
    return f'<img src="{data_uri(png)}" alt="{html.escape(alt)}">'


def figure(png: bytes, alt: str, caption: str) -> str:
    return f'<figure>{img(png, alt)}<figcaption>{caption}</figcaption></figure>'


def image_grid(columns: list[str], rows: list[tuple[str, list[bytes | None]]], caption: str) -> str:
    """A labelled grid of images: one header row, one row per sample (a missing image shows as —). The images
    share the page's width (up to 160 px high): 8 methods' outputs (11 columns) fit 1400 px; below 80 px a
    column, the grid scrolls instead."""
    head = '<tr><th scope="col">sample</th>' + "".join(  # a narrow column breaks `name:options` after the colon
        f'<th scope="col">{html.escape(c).replace(":", ":<wbr>")}</th>' for c in columns)
    body = []
    for label, images in rows:
        tds = "".join(f"<td>{img(p, f'{label}: {c}')}</td>" if p else "<td>—</td>" for c, p in zip(columns, images))
        body.append(f'<tr><th scope="row">{html.escape(label)}</th>{tds}</tr>')
    least = 11 * 16 + 80 * len(columns)  # the label column (11rem) and 80 px an image
    return (f'<figure class="scroll"><table class="grid" style="min-width:{least}px"><thead>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table><figcaption>{caption}</figcaption></figure>')


def render(title: str, meta: str, sections: list[Section]) -> str:
    nav = " ".join(f'<a href="#{s.key}">{html.escape(s.title)}</a>' for s in sections if s.body is not None)
    parts = []
    for s in sections:
        if s.body is None:
            parts.append(f'<p class="missing" id="{s.key}-missing">{html.escape(s.title)}: {html.escape(s.missing)}</p>')
        else:
            parts.append(f'<section id="{s.key}"><h2>{html.escape(s.title)}</h2>{s.body}</section>')
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<link rel=\"icon\" href=\"data:,\"><title>{html.escape(title)}</title><style>{CSS}</style></head>"
            f"<body><header><h1>{html.escape(title)}</h1><p class=\"meta\">{meta}</p>"
            "<p class=\"legend\">Marked in every table: <span class=\"best\">best</span>, "
            f"<span class=\"second\">second best</span>.</p><nav>{nav}</nav></header>"
            f"{''.join(parts)}</body></html>\n")
