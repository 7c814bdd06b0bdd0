"""Keeping secrets out of exceptions, ``repr`` and log lines.

One mechanism, not special cases: every :class:`~integrations.client.Client` holds a
:class:`SecretSet` of the values it must never show (its credential values, the user info of its base
URLs, and every access and refresh token it obtains), and every
:class:`~integrations.errors.IntegrationError` leaving ``Client.call`` or ``Client.token`` goes through
:meth:`SecretSet.scrub_exception` once: its message, ``args``, ``raw``, ``data`` (at any depth),
``code`` and every other attribute, and the exceptions it was raised from, get each known secret
replaced by :data:`PLACEHOLDER`.

Besides known values, a few *shapes* are secret wherever they appear, even when the value is not known
(a token the server made up, another user's password): a JWT, ``Bearer <token>``, and the user info of
a URL (``https://user:pass@host``). A body preview (``ApiError.raw``) also loses the values of fields
named like a secret (``"password": "..."``, ``refresh_token=...``): see :func:`redact_shapes`.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Optional, Set
from urllib.parse import quote, unquote, urlsplit

from ._fork import renew_locks_in_child

__all__ = ["MIN_SECRET_LENGTH", "PLACEHOLDER", "SecretSet", "redact_shapes", "safe_url"]

PLACEHOLDER = "[REDACTED]"

# Values shorter than this are not treated as secrets: replacing every occurrence of one, two or
# three characters (a password "a1", a user "ab") would blank out random pieces of ids, numbers and
# words all over a message and make errors unreadable, while hiding nothing worth hiding (a value that
# short is guessed in a few thousand tries anyway). Longer values are replaced wherever they appear.
MIN_SECRET_LENGTH = 4

# The length of a body preview (``ApiError.raw``): one this long may have been cut inside a secret.
PREVIEW_LENGTH = 500

# The deepest nesting of ``data`` (or any attribute) that is walked; deeper values are replaced whole.
_MAX_DEPTH = 32

# -- shapes that are secret whatever their value -----------------------------------------------------

# A JWT: base64url of a JSON object ('{"' or '{ ' encodes to "ey..."), a dot, the same, a signature.
_JWT = re.compile(r"\bey[A-Za-z0-9_-]{8,}\.ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
# An HTTP credential: "Bearer <token>" anywhere (12 characters at least, so that prose such as "a
# Bearer token" keeps its words); "Basic <base64>" in previews only ("basic validation failed").
_BEARER = re.compile(r"\b(Bearer)(\s+)(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{12,}", re.IGNORECASE)
_BASIC = re.compile(r"\b(Basic)(\s+)(?!\[REDACTED\])[A-Za-z0-9+/=]{4,}", re.IGNORECASE)
# The user info of a URL: scheme://user:pass@ (or scheme://token@).
_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)(?!\[REDACTED\]@)[^/\s@?#]+@")
# A field named like a secret, in JSON, a query or form, a header or prose: the key, then its value.
_SECRET_NAME = r"[A-Za-z0-9_.-]*(?:password|passwd|passphrase|pwd|secret|token|authorization|api[_-]?key)"  # noqa: S105
_FIELD = re.compile(
    r"(?P<key>(?P<q>[\"']?)" + _SECRET_NAME + r"[A-Za-z0-9_.-]*(?P=q)\s*[:=]\s*)"
    r"(?P<value>\"(?:[^\"\\]|\\.)*\"|'[^']*'|(?!\[REDACTED\])[^\s\"',;&<>}\])]+)",
    re.IGNORECASE,
)
_SECRET_KEY = re.compile(_SECRET_NAME + r"[A-Za-z0-9_.-]*$", re.IGNORECASE)


def _field(match: re.Match[str]) -> str:
    value = match.group("value")
    quote_char = value[0] if value[:1] in ("'", '"') else ""
    return f"{match.group('key')}{quote_char}{PLACEHOLDER}{quote_char}"


def _unambiguous_shapes(text: str) -> str:
    """JWTs, ``Bearer`` credentials and URL user info: never anything but secrets."""
    if "ey" in text:
        text = _JWT.sub(PLACEHOLDER, text)
    if "@" in text:
        text = _USERINFO.sub(lambda m: f"{m.group(1)}{PLACEHOLDER}@", text)
    return _BEARER.sub(_scheme, text)


def _scheme(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group(2)}{PLACEHOLDER}"


def redact_shapes(text: str) -> str:
    """``text`` (a response body preview) without anything secret-shaped: JWTs, ``Bearer`` and ``Basic``
    credentials, URL user info, and the values of fields named like a secret (``password``,
    ``refresh_token``, ``AccessToken``, ``Authorization``, ``api_key``... in JSON, a query or form, or
    ``name: value`` prose). Meant for previews, not messages: in a message, "token: expired" would
    lose a word."""
    return _FIELD.sub(_field, _BASIC.sub(_scheme, _unambiguous_shapes(text)))


def safe_url(url: str) -> str:
    """``url`` fit for a message or a log line: without its user info (``user:pass@``) and without its
    query string (queries may carry secrets). The transport's messages use it."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USERINFO.sub(lambda m: f"{m.group(1)}", url.split("?", 1)[0])
    netloc = parts.netloc.rpartition("@")[2]
    if not parts.scheme and not parts.netloc:
        return url.split("?", 1)[0].split("#", 1)[0]
    return f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else f"//{netloc}{parts.path}"


# -- known values --------------------------------------------------------------------------------------


def _variants(value: str) -> Iterable[str]:
    """The forms a value takes when echoed: as is, JSON-escaped (PHP also escapes ``/``), and
    percent-encoded (in a URL or a form body)."""
    yield value
    escaped = json.dumps(value)[1:-1]
    yield escaped
    yield escaped.replace("/", "\\/")
    yield json.dumps(value, ensure_ascii=False)[1:-1]
    yield quote(value, safe="")
    yield quote(value, safe="").replace("%20", "+")


class SecretSet:
    """The secret values of one client, and how to scrub them from anything. Thread-safe.

    ``add`` the values that stay secret for the client's life (credentials, URL user info) and
    ``add_token`` those that come and go (access and refresh tokens, as they are obtained: the
    :data:`RECENT_TOKENS` newest are kept, so a client renewing for months does not grow without
    bound); ``scrub_text``, ``scrub`` and ``scrub_exception`` replace each of them, and every
    secret-shaped string, by :data:`PLACEHOLDER`. Values shorter than :data:`MIN_SECRET_LENGTH` are
    ignored (see there). The set never shows its values: its ``repr`` gives only their number.
    """

    RECENT_TOKENS = 16

    def __init__(self, values: Iterable[Optional[str]] = ()) -> None:
        self._lock = threading.Lock()
        renew_locks_in_child(self, _lock=threading.Lock)
        self._permanent: Set[str] = set()
        self._recent: Dict[str, None] = {}  # insertion-ordered: the oldest first
        self._values: FrozenSet[str] = frozenset()
        self._pattern: Optional[re.Pattern[str]] = None
        self._ordered: List[str] = []
        self.add(*values)

    def __repr__(self) -> str:
        return f"<SecretSet of {len(self._values)} value(s)>"

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def add(self, *values: Optional[str]) -> None:
        """Remember each value (and its escaped and encoded forms) for good. ``None``, non-strings and
        values shorter than :data:`MIN_SECRET_LENGTH` are ignored."""
        new = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH}
        if new <= self._permanent:  # without the lock: nothing new
            return
        with self._lock:
            self._permanent |= new
            self._rebuild()

    def add_token(self, *values: Optional[str]) -> None:
        """Remember each value as a token: among the :data:`RECENT_TOKENS` newest ones."""
        new = [v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH]
        if all(v in self._recent for v in new):  # without the lock: the current token, again
            return
        with self._lock:
            for value in new:
                self._recent.pop(value, None)
                self._recent[value] = None
            while len(self._recent) > self.RECENT_TOKENS:
                del self._recent[next(iter(self._recent))]
            self._rebuild()

    def _rebuild(self) -> None:
        # Called with the lock held.
        values = frozenset(
            variant
            for value in (*self._permanent, *self._recent)
            for variant in _variants(value)
            if len(variant) >= MIN_SECRET_LENGTH
        )
        # Longest first, so a secret containing another is replaced whole.
        ordered = sorted(values, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None
        self._ordered = ordered
        self._values = values

    def add_url(self, url: str) -> None:
        """Remember the user info of ``url`` (``user:password`` and the password on its own, as written
        and percent-decoded); a URL without user info adds nothing."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return
        userinfo, at, _ = parts.netloc.rpartition("@")
        if not at:
            return
        password = userinfo.partition(":")[2]
        self.add(userinfo, unquote(userinfo), password or None, unquote(password) if password else None)

    def values(self) -> FrozenSet[str]:
        """The remembered values and their escaped forms (for tests: never log them)."""
        return self._values

    # -- scrubbing -----------------------------------------------------------------------------

    def scrub_text(self, text: str, *, preview: bool = False) -> str:
        """``text`` with every known secret and every JWT, ``Bearer`` credential and URL user info
        replaced. ``preview``: ``text`` is a body preview (``raw``), so fields named like a secret lose
        their values too, and a known secret cut off at the end of the preview is replaced as well."""
        pattern, ordered = self._pattern, self._ordered  # one consistent generation
        if pattern is not None:
            text = pattern.sub(PLACEHOLDER, text)
        if preview:
            return _scrub_cut_tail(redact_shapes(text), ordered)
        return _unambiguous_shapes(text)

    def scrub(self, value: Any, *, key: Any = None, depth: int = 0) -> Any:
        """``value`` with secrets scrubbed from every string in it, at any depth (dicts, lists,
        tuples, sets); the value of a mapping key named like a secret (``password``, ``token``...)
        is replaced whole. Other objects are returned as they are. Returns ``value`` itself when
        nothing changed."""
        if isinstance(value, str):
            if isinstance(key, str) and value and _SECRET_KEY.match(key):
                return PLACEHOLDER
            return self.scrub_text(value, preview=key == "raw")
        if depth >= _MAX_DEPTH and isinstance(value, (dict, list, tuple, set, frozenset)):
            return PLACEHOLDER
        if isinstance(value, dict):
            items = [
                (self.scrub(k, depth=depth + 1), self.scrub(v, key=k, depth=depth + 1))
                for k, v in value.items()
            ]
            if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(items, value.items())):
                return value
            try:
                return type(value)(items)
            except TypeError:
                return dict(items)
        if isinstance(value, (list, tuple, set, frozenset)):
            scrubbed = [self.scrub(v, depth=depth + 1) for v in value]
            if all(a is b for a, b in zip(scrubbed, value)):
                return value
            if isinstance(value, tuple) and hasattr(value, "_fields"):  # a namedtuple
                return type(value)(*scrubbed)
            try:
                return type(value)(scrubbed)
            except TypeError:
                return list(scrubbed) if isinstance(value, list) else tuple(scrubbed)
        return value

    def scrub_exception(self, exc: BaseException) -> BaseException:
        """Scrub ``exc`` in place (its ``args`` and every attribute: ``message``, ``raw``, ``data``,
        ``code``...) and the exceptions it was raised from or while handling (``__cause__``, and
        ``__context__`` unless suppressed by ``from None``: a suppressed context is dropped), so
        neither ``str()``, ``repr()``, a formatted traceback nor pickling shows a secret. Returns
        ``exc``."""
        seen: Set[int] = set()
        todo: List[Optional[BaseException]] = [exc]
        while todo:
            current = todo.pop()
            if current is None or id(current) in seen or len(seen) >= _MAX_DEPTH:
                continue
            seen.add(id(current))
            _scrub_one(current, self.scrub)
            if current.__suppress_context__:
                # ``raise ... from None`` declared the context irrelevant, and it is where secrets
                # hide: a requests error keeps the whole PreparedRequest (Authorization header, body
                # with the password), a JSONDecodeError the whole body. Not shown, so dropped.
                current.__context__ = None
            todo += [current.__cause__, current.__context__]
        return exc


def _scrub_cut_tail(text: str, secrets: List[str]) -> str:
    # A preview cut at PREVIEW_LENGTH may end with the first characters of a secret.
    if len(text) < PREVIEW_LENGTH:
        return text
    for value in secrets:
        head = value[:MIN_SECRET_LENGTH]
        at = text.find(head, max(0, len(text) - len(value) + 1))
        while at != -1:
            if value.startswith(text[at:]):
                return text[:at] + PLACEHOLDER
            at = text.find(head, at + 1)
    return text


def _scrub_one(exc: BaseException, scrub: Callable[..., Any]) -> None:
    try:
        args = scrub(exc.args)
        if args is not exc.args:
            exc.args = args
    except Exception:  # noqa: BLE001,S110 - a foreign exception refusing new args keeps its own
        pass
    attributes: Dict[str, Any] = getattr(exc, "__dict__", {})
    for name, value in list(attributes.items()):
        scrubbed = scrub(value, key=name)
        if scrubbed is not value:
            try:
                setattr(exc, name, scrubbed)
            except Exception:  # noqa: BLE001 - a read-only attribute: replace the stored value
                attributes[name] = scrubbed
