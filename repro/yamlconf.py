"""Strict YAML loading: every mapping remembers the line of each key so errors can name file, line and key."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from repro.errors import ConfigError


class LineDict(dict[str, Any]):
    """A dict loaded from YAML that knows where it and each of its keys came from."""

    source: str = "<string>"
    line: int = 0
    key_lines: dict[str, int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_lines = {}

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)

    def where(self, key: str | None = None) -> str:
        """`file:line` of a key (or of the mapping itself)."""
        return f"{self.source}:{self.line_of(key) if key is not None else self.line}"


class LineList(list[Any]):
    source: str = "<string>"
    line: int = 0


# libyaml's parser where PyYAML has it (several times faster); the constructors below are the same for both.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _make_loader(source: str) -> type[yaml.SafeLoader]:
    class _Loader(_SAFE_LOADER):  # type: ignore[valid-type,misc]
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LineDict:
        loader.flatten_mapping(node)
        result = LineDict()
        result.source = source
        result.line = node.start_mark.line + 1
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key)
            if key in result:
                raise ConfigError(f"{source}:{key_node.start_mark.line + 1}: duplicate key '{key}'")
            result[key] = loader.construct_object(value_node, deep=True)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result

    def construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> LineList:
        result = LineList(loader.construct_object(child, deep=True) for child in node.value)
        result.source = source
        result.line = node.start_mark.line + 1
        return result

    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return _Loader


def load_yaml_text(text: str, source: str = "<string>") -> Any:
    """Parse YAML text; malformed YAML becomes a ConfigError naming the file and line."""
    try:
        return yaml.load(text, Loader=_make_loader(source))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise ConfigError(f"{source}:{line}: malformed YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: malformed YAML: {exc}") from None


def load_yaml_file(path: str | Path) -> Any:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return load_yaml_text(text, str(path))


def where(container: Any, key: str | None = None) -> str:
    """Best-effort `file:line` for a value loaded by this module."""
    if isinstance(container, LineDict):
        return container.where(key)
    if isinstance(container, LineList):
        return f"{container.source}:{container.line}"
    return "<config>"


def require_mapping(value: Any, what: str, parent: Any = None, key: str | None = None) -> LineDict:
    if isinstance(value, LineDict):
        return value
    if isinstance(value, dict):
        converted = LineDict(value)
        return converted
    raise ConfigError(f"{where(parent, key)}: key '{what}': expected a mapping, got {type_name(value)}")


def check_keys(mapping: LineDict, allowed: Iterable[str], what: str) -> None:
    """Reject unknown keys, naming file, line and key, and listing the allowed ones."""
    allowed_set = set(allowed)
    for key in mapping:
        if key not in allowed_set:
            raise ConfigError(
                f"{mapping.where(key)}: unknown key '{key}' in {what}"
                f" (allowed: {', '.join(sorted(allowed_set))})"
            )


def get_typed(mapping: Mapping[str, Any], key: str, expected: type | tuple[type, ...], what: str) -> Any:
    """Read an optional key and check its type; None when absent."""
    if key not in mapping or mapping[key] is None:
        return None
    value = mapping[key]
    # bool is an int subclass: never accept it where a number is expected, nor a number for a bool.
    expected_tuple = expected if isinstance(expected, tuple) else (expected,)
    ok = isinstance(value, expected_tuple) and not (isinstance(value, bool) and bool not in expected_tuple)
    if not ok:
        names = " or ".join(TYPE_NAMES.get(t, t.__name__) for t in expected_tuple)
        raise ConfigError(f"{where(mapping, key)}: key '{what}': expected {names}, got {type_name(value)}")
    return value


TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true/false",
    dict: "a mapping",
    list: "a list",
}


def type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    for t, name in TYPE_NAMES.items():
        if (
            type(value) is t
            or (t is dict and isinstance(value, dict))
            or (t is list and isinstance(value, list))
        ):
            return f"{name} ({value!r})" if t in (str, int, float, bool) else name
    return type(value).__name__
