"""The registry of masking strategies: each declares its options and builds a fast `(value, attempt) -> masked`.

A masker is only ever called with a non-NULL value (the engine keeps NULL as NULL, except for `fixed`). A
masker's output depends only on the salt-derived key, the rule's signature and the value; `attempt > 0` asks
for a deterministic alternative (unique columns use it when two values collide).
"""

from __future__ import annotations

import json
import re
import string
import uuid
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from repro.masking.context import MaskContext
from repro.masking.jsonpath import apply_path, copy_json, parse_path

if TYPE_CHECKING:
    from repro.masking.rules import ColumnRule

Masker = Callable[[Any, int], Any]
Builder = Callable[["ColumnRule", MaskContext], Masker]
REDACTED = "[redacted]"


class StrategyValueError(ValueError):
    """A value a strategy cannot handle (the engine adds table, column and rule location; never the value)."""


@dataclass(frozen=True)
class OptionSpec:
    """One option of a strategy: accepted types, default, and allowed values or range."""

    types: tuple[type, ...]
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Strategy:
    """A masking strategy: its options, how to build its masker, and what it supports."""

    name: str
    options: Mapping[str, OptionSpec]
    build: Builder | None  # None: handled by the engine itself (keep, template)
    supports_unique: bool = False
    masks_null: bool = False
    in_json: bool = True
    check: Callable[[Mapping[str, Any]], str | None] | None = None
    doc: str = ""


STRATEGIES: dict[str, Strategy] = {}


def register(
    name: str,
    options: Mapping[str, OptionSpec] | None = None,
    *,
    supports_unique: bool = False,
    masks_null: bool = False,
    in_json: bool = True,
    check: Callable[[Mapping[str, Any]], str | None] | None = None,
) -> Callable[[Builder], Builder]:
    """Add a strategy to the registry (a plug-in point: a project may register its own)."""

    def decorate(build: Builder) -> Builder:
        STRATEGIES[name] = Strategy(
            name,
            dict(options or {}),
            build,
            supports_unique,
            masks_null,
            in_json,
            check,
            (build.__doc__ or "").strip(),
        )
        return build

    return decorate


def build_masker(rule: ColumnRule, ctx: MaskContext, *, null_safe: bool = True) -> Masker:
    """The masker of a rule; `null_safe` also keeps NULL (the engine checks NULL inline instead)."""
    strategy = STRATEGIES[rule.strategy]
    if strategy.build is None:
        raise ValueError(f"strategy '{rule.strategy}' is applied by the engine, not by a masker")
    masker = strategy.build(rule, ctx)
    if strategy.supports_unique:
        masker = _never_identity(masker)
    if null_safe and not strategy.masks_null:
        inner = masker

        def keep_null(value: Any, attempt: int) -> Any:
            return None if value is None else inner(value, attempt)

        return keep_null
    return masker


def keeps_original(before: Any, after: Any) -> bool:
    """Whether a masked value still shows the original: the same value, or a text of 6 or more characters
    inside the masked text (a generated `Roberto` for `Robert`). `repro mask-check` reports these as leaks."""
    if before == after:
        return True
    return isinstance(before, str) and len(before) >= 6 and isinstance(after, str) and before in after


def _never_identity(masker: Masker) -> Masker:
    """Generated values that still show the original (`keeps_original`) are replaced by another deterministic
    draw."""

    def mask(value: Any, attempt: int) -> Any:
        out = masker(value, attempt)
        k = 0
        while k < 16 and keeps_original(value, out):
            out = masker(value, -(1 + attempt * 16 + k))
            k += 1
        return out

    return mask


# --- strategies --------------------------------------------------------------------------------------------------

STRATEGIES["keep"] = Strategy(
    "keep", {}, None, doc="Copy the value as it is (say why with keep: {reason: ...})."
)
STRATEGIES["template"] = Strategy(
    "template",
    {"template": OptionSpec((str,), required=True)},
    None,
    in_json=False,
    check=lambda o: _check_template(str(o["template"])),
    doc="Build the value from the masked values of the same row: '{first_name} {last_name}'.",
)


def _check_template(template: str) -> str | None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        return f"invalid template: {exc}"
    if any(not f.isidentifier() for f in fields):
        return "template fields must be plain column names like {first_name}"
    return None


@register("nullify")
def _nullify(rule: ColumnRule, ctx: MaskContext) -> Masker:
    """Replace by NULL."""
    return lambda value, attempt: None


@register("fixed", {"value": OptionSpec((str, int, float, bool), required=True)}, masks_null=True)
def _fixed(rule: ColumnRule, ctx: MaskContext) -> Masker:
    """The same value for every row, NULL included (e.g. a known password hash)."""
    fixed = rule.options["value"]

    def mask(value: Any, attempt: int) -> Any:
        if isinstance(value, Decimal) and isinstance(fixed, int | float):
            return Decimal(str(fixed))
        return fixed

    return mask


@register("redact", {"text": OptionSpec((str,), default=REDACTED)})
def _redact(rule: ColumnRule, ctx: MaskContext) -> Masker:
    """Replace by a constant text."""
    text = rule.options["text"]
    return lambda value, attempt: text


_ALPHABETS = {
    "hex": "0123456789abcdef",
    "digits": "0123456789",
    "alnum": "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
}


def _check_hash(options: Mapping[str, Any]) -> str | None:
    limit = {"hex": 64, "digits": 64, "alnum": 40}[options["alphabet"]]
    if options["length"] > limit:
        return f"option 'length' is at most {limit} with alphabet '{options['alphabet']}'"
    return None


@register(
    "hash",
    {
        "length": OptionSpec((int,), default=16, minimum=1, maximum=64),
        "alphabet": OptionSpec((str,), default="hex", choices=tuple(_ALPHABETS)),
        "prefix": OptionSpec((str,), default=""),
    },
    supports_unique=True,
    check=_check_hash,
)
def _hash(rule: ColumnRule, ctx: MaskContext) -> Masker:
    """Keyed hash (HMAC-like, blake2b keyed with the salt) of the value; integers stay positive 31-bit integers."""
    keyed = ctx.keyed_hash(rule.signature())
    length = int(rule.options["length"])
    prefix = str(rule.options["prefix"])
    alphabet = _ALPHABETS[rule.options["alphabet"]]
    base = len(alphabet)

    def mask(value: Any, attempt: int) -> Any:
        n = keyed(value, attempt)
        if isinstance(value, int) and not isinstance(value, bool):
            return 1 + n % 2_147_483_646
        if base == 16:
            return prefix + f"{n:064x}"[:length]
        chars = []
        for _ in range(length):
            n, r = divmod(n, base)
            chars.append(alphabet[r])
        return prefix + "".join(chars)

    return mask


@register(
    "faker",
    {
        "provider": OptionSpec((str,), required=True),
        "args": OptionSpec((dict,), default={}),
        "locale": OptionSpec((str,), default="en_US"),
        "pool_size": OptionSpec((int,), default=1000, minimum=1, maximum=100_000),
    },
    supports_unique=True,
)
def _faker(rule: ColumnRule, ctx: MaskContext) -> Masker:
    """A value of any Faker provider, drawn from a pre-generated pool by the keyed hash."""
    keyed = ctx.keyed_hash(rule.signature())
    opts = rule.options
    holder: list[tuple[Any, ...]] = []

    def mask(value: Any, attempt: int) -> Any:
        if not holder:
            holder.append(
                ctx.pools.pool(opts["provider"], opts["args"], opts["locale"], opts["pool_size"], rule.where)
            )
        pool = holder[0]
        n = keyed(value, attempt)
        out = pool[n % len(pool)]
        if attempt >= 4 and isinstance(out, str):  # the pool is too small for uniqueness: add a suffix
            out = f"{out} {_base36(n >> 64, 5)}"
        if isinstance(value, str) and not isinstance(out, str):
            return str(out)
        return out

    return mask


def _base36(n: int, width: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = []
    for _ in range(width):
        n, r = divmod(n, 36)
        out.append(digits[r])
    return "".join(out)


@register("email", {"domain": OptionSpec((str,), default="example.com")}, supports_unique=True)
def _email(rule: ColumnRule, ctx: MaskContext) -> Masker:
    """A realistic address `first.last123@domain` from name pools and the keyed hash."""
    keyed = ctx.keyed_hash(rule.signature())
    domain = rule.options["domain"]
    names: list[tuple[str, ...]] = []

    def mask(value: Any, attempt: int) -> Any:
        if not names:
            names.extend((ctx.pools.name_pool("first_name"), ctx.pools.name_pool("last_name")))
        firsts, lasts = names
        n = keyed(value, attempt)
        n, i = divmod(n, len(firsts))
        n, j = divmod(n, len(lasts))
        suffix = n % 1000 if attempt < 4 else n % 10**9
        return f"{firsts[i]}.{lasts[j]}{suffix}@{domain}"

    return mask


@register(
    "partial",
    {
        "keep_first": OptionSpec((int,), default=0, minimum=0),
        "keep_last": OptionSpec((int,), default=0, minimum=0),
        "mask_char": OptionSpec((str,), default="*"),
    },
    check=lambda o: None if len(o["mask_char"]) == 1 else "option 'mask_char' must be one character",
)
def _partial(rule: ColumnRule, ctx: MaskContext) -> Masker:
    """Keep the first/last N letters or digits, mask the others, keep separators: `+33 6** ** ** 42`."""
    keep_first = int(rule.options["keep_first"])
    keep_last = int(rule.options["keep_last"])
    mask_char = str(rule.options["mask_char"])

    def mask_text(text: str, fill: str) -> str:
        chars = list(text)
        positions = [i for i, c in enumerate(chars) if c.isalnum()]
        n = len(positions)
        first, last = (keep_first, keep_last) if keep_first + keep_last < n else (0, 0)
        for j, i in enumerate(positions):
            if j >= first and j < n - last:
                chars[i] = fill
        return "".join(chars)

    def mask(value: Any, attempt: int) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return int(mask_text(str(value), "0"))
        return mask_text(value if isinstance(value, str) else str(value), mask_char)

    return mask


def _check_dates(options: Mapping[str, Any]) -> str | None:
    if options["min_days"] > options["max_days"]:
        return "option 'min_days' is larger than 'max_days'"
    return None


@register(
    "date_shift",
    {
        "max_days": OptionSpec((int,), default=30, minimum=1, maximum=36_500),
        "min_days": OptionSpec((int,), default=1, minimum=0, maximum=36_500),
    },
    check=_check_dates,
)
def _date_shift(rule: ColumnRule, ctx: MaskContext) -> Masker:
    """Move dates by a whole number of days; one shift for all dates of the copied user (the root key)."""
    keyed = ctx.keyed_hash(rule.signature())
    low, high = int(rule.options["min_days"]), int(rule.options["max_days"])

    def days_for(n: int) -> int:
        days = low + n % (high - low + 1)
        return -days if (n >> 128) & 1 else days

    root_days = days_for(keyed(ctx.root_seed, 0)) if ctx.root_seed is not None else None

    def mask(value: Any, attempt: int) -> Any:
        days = root_days if root_days is not None else days_for(keyed(value, attempt))
        delta = timedelta(days=days)
        if isinstance(value, date):  # datetime too: tzinfo is kept
            return _moved(value, delta)
        if isinstance(value, str):
            return _shift_iso_text(value, delta)
        raise StrategyValueError(f"date_shift cannot shift a {type(value).__name__} value")

    return mask


def _moved(value: date, delta: timedelta) -> date:
    """value + delta; the other way at the ends of the calendar (sentinels like 9999-12-31 are common)."""
    try:
        return value + delta
    except OverflowError:
        return value - delta


def _shift_iso_text(text: str, delta: timedelta) -> str:
    try:
        if len(text) == 10:
            return _moved(date.fromisoformat(text), delta).isoformat()
        moved = _moved(datetime.fromisoformat(text), delta)
    except ValueError:
        raise StrategyValueError("date_shift got a text that is not an ISO date") from None
    assert isinstance(moved, datetime)
    return moved.isoformat(sep=text[10] if len(text) > 10 else "T")


def _check_noise(options: Mapping[str, Any]) -> str | None:
    if ("relative" in options) == ("absolute" in options):
        return "strategy 'noise' needs exactly one of 'relative' or 'absolute'"
    return None


@register(
    "noise",
    {"relative": OptionSpec((int, float), minimum=0), "absolute": OptionSpec((int, float), minimum=0)},
    check=_check_noise,
)
def _noise(rule: ColumnRule, ctx: MaskContext) -> Masker:
    """Move a number by a deterministic amount: up to ±relative×value or ±absolute; the type is kept."""
    keyed = ctx.keyed_hash(rule.signature())
    relative = rule.options.get("relative")
    absolute = rule.options.get("absolute")

    def mask(value: Any, attempt: int) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise StrategyValueError(f"noise cannot change a {type(value).__name__} value")
        n = keyed(value, attempt)
        unit = (n % 2_000_001 - 1_000_000) / 1_000_000  # in [-1, 1]
        step = 1 if (n >> 64) & 1 else -1
        if isinstance(value, Decimal):
            exp = value.as_tuple().exponent
            quantum = Decimal(1).scaleb(exp if isinstance(exp, int) else 0)
            span = abs(value) * Decimal(str(relative)) if relative is not None else Decimal(str(absolute))
            moved = (value + span * Decimal(str(unit))).quantize(quantum)
            return moved if moved != value else value + step * quantum
        span_f = abs(value) * relative if relative is not None else float(absolute or 0)
        if isinstance(value, int):
            moved_i = round(value + span_f * unit)
            return moved_i if moved_i != value else value + step
        moved_f = value + span_f * unit
        return moved_f if moved_f != value else value + step * (abs(value) * 1e-6 or 1e-6)

    return mask


def _check_regex(options: Mapping[str, Any]) -> str | None:
    try:
        re.compile(options["pattern"])
    except re.error as exc:
        return f"option 'pattern' is not a valid regular expression: {exc}"
    return None


@register(
    "regex_replace",
    {
        "pattern": OptionSpec((str,), required=True),
        "replacement": OptionSpec((str,), required=True),
        "ignore_case": OptionSpec((bool,), default=False),
    },
    check=_check_regex,
)
def _regex_replace(rule: ColumnRule, ctx: MaskContext) -> Masker:
    """Replace what a regular expression matches (`\\1` group references allowed)."""
    regex = re.compile(rule.options["pattern"], re.IGNORECASE if rule.options["ignore_case"] else 0)
    replacement = rule.options["replacement"]
    return lambda value, attempt: regex.sub(replacement, value if isinstance(value, str) else str(value))


@register("uuid", supports_unique=True)
def _uuid(rule: ColumnRule, ctx: MaskContext) -> Masker:
    """A random-looking version-4 UUID derived from the value; uuid.UUID or text in the same spelling."""
    keyed = ctx.keyed_hash(rule.signature())

    def mask(value: Any, attempt: int) -> Any:
        try:  # one UUID written as hex, with hyphens, in capitals or as uuid.UUID masks the same
            canonical: Any = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        except ValueError:
            canonical = value
        made = uuid.UUID(int=keyed(str(canonical), attempt) >> 128, version=4)
        if isinstance(value, uuid.UUID):
            return made
        text = str(value)
        out = made.hex if len(text) == 32 else str(made)
        return out.upper() if text.isupper() else out

    return mask


@register(
    "json",
    {
        "paths": OptionSpec((dict,), required=True),
        "on_invalid": OptionSpec((str,), default="redact", choices=("redact", "nullify", "error")),
    },
)
def _json(rule: ColumnRule, ctx: MaskContext) -> Masker:
    """Mask values inside a JSON document by path; text stays text, decoded dicts/lists stay decoded."""
    steps = [
        (parse_path(path), build_masker(sub, ctx), ctx.chosen.setdefault(sub.signature(), {}))
        for path, sub in rule.paths
        if not sub.is_keep  # a kept path is left as it is, like every path without a rule
    ]
    on_invalid = rule.options["on_invalid"]

    def transform(doc: Any, attempt: int) -> Any:
        for segments, masker, chosen in steps:

            def leaf(v: Any, m: Masker = masker, chosen: dict[Any, int] = chosen) -> Any:
                return m(v, chosen.get(v, 0) if chosen and isinstance(v, Hashable) else attempt)

            doc = apply_path(doc, segments, leaf)
        return doc

    def mask(value: Any, attempt: int) -> Any:
        if isinstance(value, str | bytes | bytearray):
            try:
                doc = json.loads(value)
            except ValueError:
                if on_invalid == "error":
                    raise StrategyValueError("json got a text that is not valid JSON") from None
                return None if on_invalid == "nullify" else json.dumps(REDACTED)
            return json.dumps(transform(doc, attempt), ensure_ascii=False)
        return transform(copy_json(value), attempt)

    return mask


@dataclass(frozen=True)
class StrategyInfo:
    """A strategy as `repro mask-check --list-strategies` style documentation would show it."""

    name: str
    doc: str
    options: list[str] = field(default_factory=list)


def describe_strategies() -> list[StrategyInfo]:
    return [
        StrategyInfo(s.name, s.doc, sorted(s.options))
        for s in sorted(STRATEGIES.values(), key=lambda s: s.name)
    ]
