"""What counts as a secret in a HAR, and how one value is replaced: keyed-hash tags, URLs, forms, JSON, JWTs.

Every replaced value becomes `redacted:<6 hex>`, an HMAC of the original, so the same token or email seen in
two requests gets the same tag. Tags are never replaced again, which makes sanitizing idempotent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

TAG_RE = re.compile(r"redacted:[0-9a-f]{6}")

BUILTIN_HEADERS = frozenset(
    {
        "authorization", "proxyauthorization", "cookie", "setcookie", "setcookie2", "xapikey", "apikey",
        "xauthtoken", "xaccesstoken", "xcsrftoken", "xxsrftoken", "csrftoken", "xcsrf", "xsessionid",
        "xsessiontoken", "xamzsecuritytoken", "xgoogapikey", "xrefreshtoken", "xidtoken", "xclientsecret",
        "xamzcredential", "xamzsignature", "xfunctionskey", "ocpapimsubscriptionkey",
    }
)  # fmt: skip
# A header whose (normalised) name contains one of these is redacted too.
HEADER_WORDS = ("token", "secret", "apikey", "password", "passwd", "sessionid", "csrf", "xsrf", "signature")

# Query strings and urlencoded forms (OAuth, SAML, signed URLs).
QUERY_KEYS = frozenset(
    {
        "token", "accesstoken", "idtoken", "refreshtoken", "code", "codeverifier", "state", "clientsecret",
        "password", "apikey", "samlrequest", "samlresponse", "relaystate", "signature", "sig", "key", "auth",
        "sid", "session", "sessionid", "jsessionid", "phpsessid", "otp", "nonce", "ticket",
    }
)  # fmt: skip
# JSON, form and multipart fields by exact (normalised) name.
BODY_KEYS = frozenset(
    {
        "password", "passwd", "pwd", "pass", "passphrase", "token", "secret", "card", "cardnumber", "cc",
        "ccnumber", "pan", "cvv", "cvv2", "cvc", "securitycode", "pin", "otp", "mfacode", "totp", "apikey",
        "clientsecret", "privatekey", "sessionid", "cookie", "authorization", "assertion",
    }
)  # fmt: skip
# Any key containing one of these is a secret wherever it appears.
KEY_WORDS = (
    "password", "passwd", "token", "secret", "apikey", "cvv", "cardnumber", "creditcard", "privatekey",
    "sessionid", "credential",
)  # fmt: skip
BUILTIN_PERSONAL = frozenset(
    {"email", "phone", "firstname", "lastname", "name", "address", "birthdate", "ip", "ssn", "iban"}
)

_URL_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://)([^/?#]*)(.*)", re.S)
_FORM_RE = re.compile(r"[^=&\s]+=[^&\s]*(?:&[^=&\s]*=?[^&\s]*)*")
_JWT_RE = re.compile(r"\bey[A-Za-z0-9_-]{8,}\.ey[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_AUTH_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9-]*)(\s+)(\S.*)", re.S)
_B64_RE = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
# Values replaced under a secret name are also replaced wherever else they appear (a session cookie echoed in a
# URL path, a CSRF token in a page). Only token-like values: long, no spaces, letters and digits.
_KNOWN_KINDS = frozenset({"header", "cookie", "url_userinfo", "query_param", "form_field", "json_key"})
_KNOWN_MIN_LENGTH = 10
_RUN_RE = re.compile(r"[A-Za-z0-9]{4,}")  # a text is searched for known values only where it shares a run
_NOT_JSON = object()
_JSON_MEMBER_RE = (
    re.compile(  # `"key": value` in JSON that does not parse; a string may be cut off at the end
        r'"((?:[^"\\]|\\.){1,100})"(\s*:\s*)("(?:[^"\\]|\\.)*(?:"|\Z)|-?\d[\d.eE+-]*|true|false|null)'
    )
)


def normalize(name: str) -> str:
    """`X-Api-Key`, `api_key`, `apiKey` -> `apikey`: key lists compare names in this form."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _b64url_json(part: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        return json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError):
        return _NOT_JSON


class Redactor:
    """Replaces secret and personal values and counts what it replaced, by kind."""

    def __init__(
        self,
        key: bytes,
        *,
        extra_headers: Iterable[str] = (),
        extra_keys: Iterable[str] = (),
        personal_keys: Iterable[str] = BUILTIN_PERSONAL,
        replacement: Callable[[str], str] | None = None,
    ) -> None:
        self._key = key
        self._headers = BUILTIN_HEADERS | {normalize(h) for h in extra_headers}
        extra = {normalize(k) for k in extra_keys}
        self._query_keys = QUERY_KEYS | BODY_KEYS | extra
        self._body_keys = BODY_KEYS | extra
        self._personal = frozenset(normalize(k) for k in personal_keys)
        self._replacement = replacement
        self.counts: Counter[str] = Counter()
        self._known: dict[str, str] = {}  # secret value (and its URL-encoded forms) -> its tag
        self._runs: dict[str, set[str]] = {}  # alphanumeric run -> the known values that contain it

    # -- one value -------------------------------------------------------------------------------------------
    def tag(self, value: str, kind: str | None) -> str:
        """The replacement of one value; `kind` is counted (None: part of something already counted)."""
        if TAG_RE.fullmatch(value):
            return value
        if kind is not None:
            self.counts[kind] += 1
        if self._replacement is not None:
            new = self._replacement(value)
        else:
            digest = hmac.new(self._key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
            new = f"redacted:{digest[:6]}"
        if kind in _KNOWN_KINDS:
            self._remember(value, new)
        return new

    def _remember(self, value: str, new: str) -> None:
        token = value.strip()
        if (
            len(token) < _KNOWN_MIN_LENGTH
            or any(c.isspace() for c in token)
            or not any(c.isdigit() for c in token)
            or not any(c.isalpha() for c in token)
        ):
            return
        for form in (token, quote(token, safe=""), quote_plus(token)):
            if form not in self._known:
                self._known[form] = new
                for run in _RUN_RE.findall(form):
                    self._runs.setdefault(run, set()).add(form)

    def replace_known(self, text: str) -> str:
        """Every occurrence of a value already replaced under a secret name gets that value's tag."""
        if not self._known:
            return text
        found = {form for run in _RUN_RE.findall(text) for form in self._runs.get(run, ())}
        for form in sorted(found, key=len, reverse=True):
            text = text.replace(form, self._known[form])
        return text

    def tag_all(self, value: Any, kind: str) -> Any:
        """Replace every scalar under a secret or personal key (objects and arrays keep their shape)."""
        if isinstance(value, dict):
            return {k: self.tag_all(v, kind) for k, v in value.items()}
        if isinstance(value, list):
            return [self.tag_all(v, kind) for v in value]
        if isinstance(value, str):
            return self.tag(value, kind) if value else value
        if isinstance(value, bool) or value is None:
            return value
        return self.tag(json.dumps(value), kind)

    # -- classification --------------------------------------------------------------------------------------
    def header_is_secret(self, name: str) -> bool:
        norm = normalize(name)
        return norm in self._headers or any(word in norm for word in HEADER_WORDS)

    def key_kind(self, name: str, *, query: bool) -> str | None:
        """'secret', 'personal' or None for a query/form parameter (query=True) or a JSON/body key."""
        norm = normalize(name)
        if not norm:
            return None
        keys = self._query_keys if query else self._body_keys
        if norm in keys or any(word in norm for word in KEY_WORDS):
            return "secret"
        if norm in self._personal:
            return "personal"
        return None

    # -- strings ---------------------------------------------------------------------------------------------
    def scrub(self, text: str) -> str:
        """Any string: JWTs replaced wherever they are; URL-shaped strings get their secrets removed."""
        if "ey" in text:
            text = _JWT_RE.sub(self._jwt, text)
        stripped = text.strip()
        if _URL_RE.match(stripped) or (stripped.startswith("/") and ("?" in stripped or "#" in stripped)):
            text = self.url(text)
        return self.replace_known(text)

    def value(self, text: str) -> str:
        """A value of unknown shape (a field, a parameter, a header): JSON, base64 JSON and urlencoded forms
        inside it are opened and redacted by key; otherwise JWTs and URL secrets as in `scrub`."""
        stripped = text.strip()
        if stripped[:1] in ("{", "[") and len(stripped) > 1:
            inner = _parse_json(stripped)
            if isinstance(inner, dict | list):
                new = self.json_value(inner, None)
                return text if new == inner else json.dumps(new, ensure_ascii=False)
        if _URL_RE.match(stripped) or stripped.startswith("/"):
            return self.scrub(text)
        if _B64_RE.fullmatch(stripped):
            opened = self._base64_json(stripped)
            if opened is not None:
                return opened
        if "=" in stripped and _FORM_RE.fullmatch(stripped):
            return self.scrub(self.pairs(text, kind="form_field"))
        return self.scrub(text)

    def _base64_json(self, text: str) -> str | None:
        """Base64 (standard or URL-safe) of a JSON object or array, redacted and encoded the same way."""
        urlsafe = "-" in text or "_" in text
        try:
            raw = (base64.urlsafe_b64decode if urlsafe else base64.b64decode)(text + "=" * (-len(text) % 4))
            inner = json.loads(raw.decode("utf-8"))
        except (binascii.Error, ValueError):
            return None
        if not isinstance(inner, dict | list):
            return None
        new = self.json_value(inner, None)
        if new == inner:
            return text
        encoded = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(
            json.dumps(new, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        ).decode("ascii")
        return encoded if text.endswith("=") else encoded.rstrip("=")

    def _jwt(self, match: re.Match[str]) -> str:
        token = match.group(0)
        header_b64, payload_b64, signature = token.split(".")
        header = _b64url_json(header_b64)
        if not isinstance(header, dict):
            return token
        claims = _b64url_json(payload_b64)
        if not isinstance(claims, dict):
            return self.tag(token, "jwt")
        if not signature and all(isinstance(v, str) and TAG_RE.fullmatch(v) for v in claims.values()):
            return token  # already sanitized
        self.counts["jwt"] += 1
        masked = {
            name: self.tag(value if isinstance(value, str) else json.dumps(value), None)
            for name, value in claims.items()
        }
        payload = base64.urlsafe_b64encode(json.dumps(masked, separators=(",", ":")).encode()).rstrip(b"=")
        return f"{header_b64}.{payload.decode('ascii')}."

    def url(self, url: str) -> str:
        """Userinfo, secret query parameters and secrets in the fragment (`#access_token=...`)."""
        prefix, authority, rest = "", "", url
        m = _URL_RE.match(url)
        if m:
            prefix, authority, rest = m.group(1), m.group(2), m.group(3)
            if "@" in authority:
                userinfo, _, host = authority.rpartition("@")
                authority = f"{self.tag(unquote_plus(userinfo), 'url_userinfo')}@{host}"
        rest, hash_mark, fragment = rest.partition("#")
        path, question, query = rest.partition("?")
        if question:
            query = self.pairs(query, kind="query_param")
        if hash_mark:
            head, fq, ftail = fragment.partition("?")
            if fq:
                fragment = head + fq + self.pairs(ftail, kind="query_param")
            elif "=" in fragment:
                fragment = self.pairs(fragment, kind="query_param")
        return f"{prefix}{authority}{path}{question}{query}{hash_mark}{fragment}"

    def pairs(self, text: str, *, kind: str) -> str:
        """`a=1&b=2` (query string or urlencoded form) with secret and personal values replaced."""
        out = []
        for piece in text.split("&"):
            name_raw, eq, value_raw = piece.partition("=")
            if eq:
                value = unquote_plus(value_raw)
                new = self.param(unquote_plus(name_raw), value, kind=kind)
                if new != value:
                    piece = f"{name_raw}={quote(new, safe=':*')}"
            out.append(piece)
        return "&".join(out)

    def param(self, name: str, value: str, *, kind: str) -> str:
        """One decoded name/value pair of a query string, `queryString`, form or `postData.params`."""
        if not value:
            return value
        which = self.key_kind(name, query=True)
        if which == "secret":
            return self.tag(value, kind)
        if which == "personal":
            return self.tag(value, "personal")
        return self.value(value)

    # -- headers and cookies ---------------------------------------------------------------------------------
    def header(self, name: str, value: str) -> str:
        norm = normalize(name)
        if not value:
            return value
        if norm in ("cookie",):
            return self.cookie_header(value)
        if norm in ("setcookie", "setcookie2"):
            return "\n".join(self.set_cookie_line(line) for line in value.split("\n"))
        if self.header_is_secret(name):
            m = _AUTH_SCHEME_RE.fullmatch(value)
            if m and norm in ("authorization", "proxyauthorization"):
                return f"{m.group(1)}{m.group(2)}{self.tag(m.group(3), 'header')}"
            return self.tag(value, "header")
        return self.value(value)

    def cookie_header(self, value: str) -> str:
        parts = []
        for piece in value.split(";"):
            name, eq, val = piece.partition("=")
            if eq and val.strip():
                piece = f"{name}={self.tag(val.strip(), 'cookie')}"
            elif not eq and piece.strip():  # a cookie without a name is all value
                piece = piece[: len(piece) - len(piece.lstrip())] + self.tag(piece.strip(), "cookie")
            parts.append(piece)
        return ";".join(parts)

    def set_cookie_line(self, line: str) -> str:
        first, semi, attributes = line.partition(";")
        name, eq, val = first.partition("=")
        if eq and val.strip():
            first = f"{name}={self.tag(val.strip(), 'cookie')}"
        elif not eq and first.strip():  # a cookie without a name is all value
            first = self.tag(first.strip(), "cookie")
        return f"{first}{semi}{attributes}"

    # -- bodies ----------------------------------------------------------------------------------------------
    def body(self, text: str, mime: str) -> str:
        """A body: JSON by key, urlencoded and multipart forms by field; any other text: only its JWTs."""
        boundary = _multipart_boundary(text, mime)
        mime = mime.lower()
        stripped = text.strip()
        if boundary is not None:
            return self.multipart(text, boundary)
        if "json" in mime or stripped[:1] in ("{", "["):
            doc = _parse_json(stripped)
            if doc is not _NOT_JSON:
                new = self.json_value(doc, None)
                return text if new == doc else json.dumps(new, ensure_ascii=False)
            # truncated or line-delimited JSON: still replace `"key": value` members by key
            return self.scrub(_JSON_MEMBER_RE.sub(self._json_member, text))
        if "x-www-form-urlencoded" in mime or (
            not any(t in mime for t in ("html", "xml", "javascript", "css")) and _FORM_RE.fullmatch(stripped)
        ):
            return self.pairs(text, kind="form_field")
        return self.scrub(text)

    def _json_member(self, match: re.Match[str]) -> str:
        which = self.key_kind(json_unescape(match.group(1)), query=False)
        raw = match.group(3)
        if which is None or raw in ('""', "null", "true", "false"):
            return match.group(0)
        if raw.startswith('"'):
            inner = raw[1:-1] if len(raw) > 1 and raw.endswith('"') else raw[1:]
            if not inner:
                return match.group(0)
            value = json_unescape(inner)
        else:
            value = raw
        tag = self.tag(value, "json_key" if which == "secret" else "personal")
        return f'"{match.group(1)}"{match.group(2)}"{tag}"'

    def json_value(self, value: Any, key: str | None) -> Any:
        """A parsed JSON value; `key` is the member name it sits under (arrays inherit it)."""
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                which = self.key_kind(k, query=False)
                if which is not None and v not in (None, "", [], {}):
                    out[k] = self.tag_all(v, "json_key" if which == "secret" else "personal")
                else:
                    out[k] = self.json_value(v, k)
            return out
        if isinstance(value, list):
            return [self.json_value(v, key) for v in value]
        if isinstance(value, str):
            return self.value(value)
        return value

    def multipart(self, text: str, boundary: str) -> str:
        delimiter = "--" + boundary
        parts = text.split(delimiter)
        for i, part in enumerate(parts):
            head, sep, content = part.partition("\r\n\r\n")
            if not sep:
                head, sep, content = part.partition("\n\n")
            m = re.search(r'\bname="([^"]*)"', head)
            if not sep or not m or "filename=" in head:
                parts[i] = self.scrub(part)
                continue
            newline = "\r\n" if content.endswith("\r\n") else "\n" if content.endswith("\n") else ""
            body = content[: len(content) - len(newline)]
            new = self.param(m.group(1), body, kind="form_field")
            parts[i] = f"{head}{sep}{new}{newline}"
        return delimiter.join(parts)


def _multipart_boundary(text: str, mime: str) -> str | None:
    """The boundary a multipart body really uses: the one its first line opens with (whatever the mimeType
    says, and in its original case), else the mimeType's when the body contains it; None when not multipart."""
    first = text.lstrip("\r\n").split("\n", 1)[0].rstrip("\r")
    if first.startswith("--") and len(first) > 2 and not first[2:].isspace() and "\n" in text:
        rest = text.lower()
        if "content-disposition" in rest and f"{first}" in text[len(first) :]:
            return first[2:]
    m = re.search(r"boundary=\"?([^\";]+)", mime, re.IGNORECASE)
    if m and "multipart/" in mime.lower() and f"--{m.group(1).strip()}" in text:
        return m.group(1).strip()
    return None


def json_unescape(text: str) -> str:
    """The value of a JSON string's inside (`a\\"b` -> `a"b`); the text itself when it does not parse."""
    try:
        value = json.loads(f'"{text}"')
    except ValueError:
        return text
    return value if isinstance(value, str) else text


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return _NOT_JSON
