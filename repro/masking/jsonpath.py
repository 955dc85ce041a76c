"""The small JSON path dialect of the json strategy: `$.a.b`, `$.items[*].note`, `$.list[0]`, `$['odd key']`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Segment = tuple[str, Any]  # ("key", name) | ("all", None) | ("index", n)

_TOKEN = re.compile(
    r"""\.(?P<key>[A-Za-z_][\w-]*)|\[(?P<star>\*)\]|\[(?P<index>-?\d+)\]|\[(?P<q>['"])(?P<quoted>.*?)(?P=q)\]"""
)


def parse_path(path: str) -> list[Segment]:
    """Split a path into segments; ValueError says what is wrong."""
    if not path.startswith("$"):
        raise ValueError("a path starts with '$'")
    segments: list[Segment] = []
    pos = 1
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if m is None:
            raise ValueError(f"unexpected {path[pos:]!r} (use .key, [*], [0] or ['key'])")
        if m.group("key") is not None:
            segments.append(("key", m.group("key")))
        elif m.group("star") is not None:
            segments.append(("all", None))
        elif m.group("index") is not None:
            segments.append(("index", int(m.group("index"))))
        else:
            segments.append(("key", m.group("quoted")))
        pos = m.end()
    return segments


def apply_path(node: Any, segments: list[Segment], fn: Callable[[Any], Any], i: int = 0) -> Any:
    """Replace every value the path reaches by fn(value); missing keys are ignored. Mutates containers."""
    if i == len(segments):
        return fn(node)
    kind, arg = segments[i]
    if kind == "key":
        if isinstance(node, dict) and arg in node:
            node[arg] = apply_path(node[arg], segments, fn, i + 1)
    elif kind == "all":
        if isinstance(node, list):
            for j, item in enumerate(node):
                node[j] = apply_path(item, segments, fn, i + 1)
        elif isinstance(node, dict):
            for k, item in node.items():
                node[k] = apply_path(item, segments, fn, i + 1)
    elif isinstance(node, list) and -len(node) <= arg < len(node):
        node[arg] = apply_path(node[arg], segments, fn, i + 1)
    return node


def copy_json(value: Any) -> Any:
    """A deep copy of decoded JSON (dicts, lists, scalars), so masking never touches the original row."""
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value


def collect_path(node: Any, segments: list[Segment]) -> list[Any]:
    """Every value a path reaches (used by mask-check's self-test)."""
    found: list[Any] = []

    def grab(value: Any) -> Any:
        found.append(value)
        return value

    apply_path(copy_json(node), segments, grab)
    return found
