"""The data dictionary: every field of both schemas, rendered as Markdown or one HTML page."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from schemas.library import FieldDoc, Schema

TITLES = {"raw_crash": "Raw crash annotations", "processed_crash": "Processed crash fields"}


def _example(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 200 else text[:200] + "…"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _field_facts(field: FieldDoc) -> list[tuple[str, str]]:
    facts = [("type", " | ".join(field.types)), ("permission", field.permission)]
    if field.source_annotation:
        facts.append(("source annotation", field.source_annotation))
    if field.deprecated:
        facts.append(("deprecated", "yes"))
    return facts


def render_markdown(schemas: list[Schema]) -> str:
    lines = ["# crashproc data dictionary", ""]
    for schema in schemas:
        fields = list(schema.iter_fields())
        lines += [f"## {TITLES.get(schema.name, schema.name)}", "", f"{len(fields)} fields.", ""]
        for field in fields:
            lines.append(f"### `{field.path}`")
            lines.append("")
            lines.append(" · ".join(f"**{k}:** `{v}`" for k, v in _field_facts(field)))
            lines.append("")
            if field.description:
                lines += [field.description, ""]
            if field.examples:
                lines.append(
                    "Examples: " + ", ".join(f"`{_md_cell(_example(e))}`" for e in field.examples)
                )
                lines.append("")
    return "\n".join(lines).rstrip() + "\n"


_CODE_RE = re.compile(r"`([^`]+)`")


def _html_text(markdown: str) -> str:
    """Minimal Markdown for descriptions: paragraphs and inline code, everything escaped."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", markdown) if p.strip()]
    code = r"<code>\1</code>"
    return "".join(f"<p>{_CODE_RE.sub(code, html.escape(p))}</p>" for p in paragraphs)


def render_html(schemas: list[Schema]) -> str:
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>crashproc data dictionary</title><style>",
        "body{font-family:sans-serif;margin:2em;max-width:70em}"
        "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px;"
        "vertical-align:top;text-align:left}code{background:#f4f4f4}.protected{color:#a00}",
        "</style></head><body><h1>crashproc data dictionary</h1>",
    ]
    for schema in schemas:
        fields = list(schema.iter_fields())
        parts.append(
            f"<h2>{html.escape(TITLES.get(schema.name, schema.name))} ({len(fields)})</h2>"
        )
        parts.append(
            "<table><tr><th>field</th><th>type</th><th>permission</th>"
            "<th>source annotation</th><th>description</th><th>examples</th></tr>"
        )
        for field in fields:
            examples = "<br>".join(
                f"<code>{html.escape(_example(e))}</code>" for e in field.examples
            )
            parts.append(
                f"<tr id='{html.escape(schema.name + ':' + field.path)}'>"
                f"<td><code>{html.escape(field.path)}</code>{' (deprecated)' if field.deprecated else ''}</td>"
                f"<td>{html.escape(' | '.join(field.types))}</td>"
                f"<td class='{field.permission}'>{field.permission}</td>"
                f"<td>{html.escape(field.source_annotation or '')}</td>"
                f"<td>{_html_text(field.description)}</td><td>{examples}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render(schemas: list[Schema], fmt: str = "md") -> str:
    if fmt == "md":
        return render_markdown(schemas)
    if fmt == "html":
        return render_html(schemas)
    raise ValueError(f"unknown docs format {fmt!r}; expected md or html")
