"""Template miner: masks values by their shape, then groups the masked token sequences.

One configuration for every input. Masking replaces what *looks* like a value, whatever the
system: URLs, quoted text, absolute paths, IPv6 addresses, mail addresses, dotted host names
(with a port), dates written with a month's name, numbers with their units, and every run of word
characters (joined by single ``. / : @ + - # % $ ~``) that holds a digit -- identifiers with
numbers inside, hex of any form, UUIDs, addresses with ports, times, versions. Each becomes
``<*>``; one kind of wildcard means a value never splits an event by the form it took (hex with
or without letters, ``10.0.0.1:80``, ``db.example.com:80`` or ``/10.0.0.1:80``).

Grouping follows Drain (lines of one length whose first two words agree are compared position by
position) with changes that let it hold on logs nobody tuned it for:

- a template's ``<*>`` matches any token, so a template keeps absorbing lines once it generalised;
- one differing word in five may be a value (a user or service name): the template generalises;
  two differing words are another event, whatever the length (``renew session <*>`` is not
  ``establish new session``);
- ``key=value`` tokens compare their keys: ``user=root`` and ``user=git`` agree on ``user=`` and
  generalise to ``user=<*>``; another key, or a value against none, is another event;
- an upper-case word is a constant, bare or as a key's value: ``LOOKING`` and ``LEADING``,
  ``state=RUNNING`` and ``state=FAILED`` are states or kinds the program names, not values, so
  they are other events (a name a user or an operator chose is rarely written in capitals);
- a line of another length joins the template whose constant words are the same, in the same
  order (a value missing, or written in more tokens as in ``1190 bytes (1.16 KB)``, does not split
  the event).

A masked form, once assigned, keeps its template: templates only generalise, and the exact index
remembers each form, so a repeated line never gets another answer.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

WILDCARD = "<*>"
# A line joins a template when at most a fifth of its positions differ (one word in five).
SIMILARITY = 0.8
MAX_WORDS_DIFFERING = 1
KEY_WORDS = 2  # Drain's tree depth: the first words of a line name its event more often than not
EXACT_FORMS_LIMIT = 1_000_000  # masked forms remembered (then new forms are searched every time)

_SEP = r"[./:@+\-#%$~]"
# Shapes of one whitespace-separated token, in the order that decides between shapes starting at
# the same character: a URL before the host name or path inside it, a host name with its port
# before the bare number.
_TOKEN_SHAPES = (
    r"\b[a-zA-Z][\w+.-]*://[^\s'\"<>]+",  # URL
    r"/(?<![\w./]/)[\w.+@%~:-]+(?:/[\w.+@%~:-]*)*",  # absolute path (not I/O, not a/b)
    r"\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\](?::\d+)?",  # [IPv6] and [IPv6]:port
    r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?(?![\w:])",  # IPv6, maybe with its zone
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # mail address
    r"(?<![\w.-])(?:[a-z0-9-]+\.){2,}[a-z]{2,}(?::\d+)?(?![\w.-])",  # dotted host name, maybe with port
    rf"(?:[<>]=?|[-+~](?<![\w][-+~]))?(?:\w+{_SEP}(?=\w))*\w*\d(?:\w|{_SEP}(?=\w))*",  # anything with a digit
)
_TOKEN_MASK = re.compile("|".join(f"(?:{p})" for p in _TOKEN_SHAPES))
# Quoted text with spaces is one value whose words would change the token count; the quotes stay
# ('<*>'). A quoted single word is a token like any other (a parameter's name stays readable).
_QUOTED = re.compile(r"(')(?<!\w')[^'\n]*\s[^'\n]*'(?!\w)|(\")(?<!\w\")[^\"\n]*\s[^\"\n]*\"(?!\w)")
# Words that belong to the value before them: units ("1190 bytes", "(1.16 KB)", "<1 sec") and,
# before a day, a month's or weekday's name ("Sun Jul 10 03:55:21").
_SIZE_UNITS = "B KB MB GB TB PB KiB MiB GiB TiB kB Kb Mb Gb bit bits bytes byte".split()
_TIME_UNITS = (
    "ms msec msecs us usec usecs µs ns nsec s sec secs second seconds min mins minute minutes hr hrs hour hours "
    "day days".split()
)
# A rate is a unit too ("5 MB/s", "12 KBps", "100 Mbps"), and a percentage written apart ("50 %").
_UNITS = frozenset(
    [*_SIZE_UNITS, *_TIME_UNITS, "%", "bps", "kbps", "Kbps", "Mbps", "Gbps"]
    + [f"{unit}{per}" for unit in _SIZE_UNITS for per in ("/s", "/sec", "ps")]
)
_DATE_WORDS = frozenset("Jan Feb Mar Apr May Jun Jul Aug Sep Sept Oct Nov Dec Mon Tue Wed Thu Fri Sat Sun".split())
_TRAILING = ")],;:."
_DIGITS_TO_ZERO = str.maketrans("123456789", "000000000")
_TOKEN_CACHE_LIMIT = 200_000


class Masker:
    """Replaces values by ``<*>`` (user masks first, each by its own ``<NAME>``)."""

    def __init__(self, extra: Sequence[tuple[str, str]] = ()):
        self._extra = [(re.compile(pattern), f"<{name}>") for name, pattern in extra]
        self._tokens: dict[str, str] = {}  # token (digits as 0) -> its masked form

    @property
    def digit_blind(self) -> bool:
        """True when masking treats all digits alike (no user mask could tell 1 from 2)."""
        return not self._extra

    def tokens(self, text: str) -> tuple[str, ...]:
        """The masked token sequence of a message: runs of ``<*>`` collapse into one."""
        if self._extra:
            for regex, replacement in self._extra:
                text = regex.sub(replacement, text)
        # Every digit ends up inside a masked value, so masking the text with its digits read
        # as 0 gives the same tokens, and per-token answers repeat across lines.
        text = text.translate(_DIGITS_TO_ZERO)
        if "'" in text or '"' in text:
            text = _QUOTED.sub(_quoted_value, text)
        cache = self._tokens
        if len(cache) > _TOKEN_CACHE_LIMIT:
            cache.clear()
        out: list[str] = []
        for token in text.split():
            masked = cache.get(token)
            if masked is None:
                masked = cache[token] = _TOKEN_MASK.sub(WILDCARD, token)
            if out:
                last = out[-1]
                if masked == WILDCARD:
                    if last == WILDCARD:
                        continue
                    if last in _DATE_WORDS:  # "Sun Jul 10" is one value
                        while out and out[-1] in _DATE_WORDS:
                            out.pop()
                        if out and out[-1] == WILDCARD:
                            continue
                elif last.endswith(WILDCARD):
                    bare = token.rstrip(_TRAILING)
                    if bare in _UNITS:  # the unit joins its number: "(1.16 KB)" is "(<*>)"
                        out[-1] = last + token[len(bare) :]
                        continue
            out.append(masked)
        return tuple(out)


def _quoted_value(match: re.Match) -> str:
    quote = match.group(1) or match.group(2)
    return f"{quote}{WILDCARD}{quote}"


@dataclass(slots=True)
class Template:
    """A group of lines: its tokens (``<*>`` where they differ) and its text."""

    tokens: list[str]
    text: str

    @classmethod
    def of(cls, tokens: Iterable[str]) -> Template:
        listed = list(tokens)
        return cls(listed, " ".join(listed))


class TemplateMiner:
    """Groups masked token sequences into templates with stable ids (1, 2, ...)."""

    def __init__(self, max_templates: int = 20000):
        self.max_templates = max_templates
        # Least recently used first: the one to drop when a new template needs room.
        self.templates: OrderedDict[int, Template] = OrderedDict()
        self._next_id = 1
        self.changes = 0  # templates created, generalised or dropped: the state to save changed
        self._exact: dict[tuple[str, ...], int] = {}
        self._by_key: dict[tuple, list[int]] = {}
        self._by_skeleton: dict[tuple[str, ...], int] = {}

    # -- assigning ------------------------------------------------------------------------------

    def add(self, tokens: tuple[str, ...]) -> int:
        """The template id of a masked line, creating or generalising a template as needed."""
        template_id = self._exact.get(tokens)
        if template_id is not None and template_id in self.templates:
            self.templates.move_to_end(template_id)
            return template_id
        template_id = self._match(tokens)
        if template_id is None:
            template_id = self._create(tokens)
        self.templates.move_to_end(template_id)
        if len(self._exact) < EXACT_FORMS_LIMIT:
            self._exact[tokens] = template_id
        return template_id

    def remembers(self, tokens: tuple[str, ...]) -> bool:
        """Whether ``tokens`` will get the same id again without a search (a cache may keep it)."""
        return self._exact.get(tokens) in self.templates

    def touch(self, template_id: int) -> None:
        """Count a use answered by a cache in front of the miner, as ``add`` would have."""
        self.templates.move_to_end(template_id)

    def _match(self, tokens: tuple[str, ...]) -> int | None:
        best, best_score = None, SIMILARITY
        size = len(tokens)
        for template_id in self._by_key.get(_key(tokens), ()):
            template = self.templates.get(template_id)
            if template is None:
                continue
            score = _similarity(template.tokens, tokens, size)
            if score >= best_score and (best is None or score > best_score):
                best, best_score = template_id, score
        if best is not None:
            self._generalise(best, tokens)
            return best
        skeleton = _skeleton(tokens)
        if len(skeleton) >= 2:
            candidate = self._by_skeleton.get(skeleton)
            if candidate in self.templates:
                return candidate
        return None

    def _generalise(self, template_id: int, tokens: Sequence[str]) -> None:
        template = self.templates[template_id]
        merged = [_generalised(a, b) for a, b in zip(template.tokens, tokens, strict=True)]
        if merged != template.tokens:
            self.changes += 1
            template.tokens = merged
            template.text = " ".join(merged)
            self._by_skeleton.setdefault(_skeleton(merged), template_id)

    def _create(self, tokens: tuple[str, ...]) -> int:
        if len(self.templates) >= self.max_templates:
            self._drop_least_recently_used()
        template_id = self._next_id
        self._next_id += 1
        self.changes += 1
        self._install(template_id, Template.of(tokens))
        return template_id

    def _install(self, template_id: int, template: Template) -> None:
        self.templates[template_id] = template
        self._by_key.setdefault(_key(template.tokens), []).append(template_id)
        self._by_skeleton.setdefault(_skeleton(template.tokens), template_id)

    def _drop_least_recently_used(self) -> None:
        template_id, template = self.templates.popitem(last=False)
        same_key = self._by_key.get(_key(template.tokens), [])
        if template_id in same_key:
            same_key.remove(template_id)
        if self._by_skeleton.get(_skeleton(template.tokens)) == template_id:
            del self._by_skeleton[_skeleton(template.tokens)]
        self.changes += 1

    # -- state ----------------------------------------------------------------------------------

    def state(self) -> dict:
        """The templates (least recently used first) and the next id, as plain data; the exact
        index is rebuilt as lines arrive."""
        return {"next_id": self._next_id, "templates": [[i, t.tokens] for i, t in self.templates.items()]}

    def load(self, state: dict) -> None:
        """Replace the templates by a saved state's."""
        self.templates.clear()
        self._exact.clear()
        self._by_key.clear()
        self._by_skeleton.clear()
        for template_id, tokens in state["templates"]:
            self._install(int(template_id), Template.of(tokens))
        self._next_id = max(int(state["next_id"]), max(self.templates, default=0) + 1)

    def adopt(self, template_id: int, tokens: Sequence[str]) -> bool:
        """Take over a template mined elsewhere under its id (migrating stored templates)."""
        tokens = tuple(tokens)
        if template_id in self.templates or self._exact.get(tokens) in self.templates:
            return False
        self._install(template_id, Template.of(tokens))
        self._exact[tokens] = template_id
        self._next_id = max(self._next_id, template_id + 1)
        return True


def _key(tokens: Sequence[str]) -> tuple:
    return (len(tokens), *(WILDCARD if WILDCARD in t else t for t in tokens[:KEY_WORDS]))


def _skeleton(tokens: Sequence[str]) -> tuple[str, ...]:
    """The constant words in order, without values and the brackets or punctuation around them:
    lines whose values take more or fewer tokens ("0 bytes" or "1190 bytes (1.16 KB)") share it."""
    return tuple(t for t in tokens if t.replace(WILDCARD, "").strip(_PUNCTUATION))


_PUNCTUATION = "()[]{}<>,;:.'\"="


def _similarity(template: Sequence[str], tokens: Sequence[str], size: int) -> float:
    """Share of positions that agree; -1 when the line cannot be one of the template's: more
    than one word differs (two differing words are another event more often than two values),
    or a difference cannot be a value (another key, another shape around a value)."""
    differ = 0
    for a, b in zip(template, tokens):
        if a == b or a == WILDCARD:
            continue
        eq = a.find("=")
        if eq > 0 and b.startswith(a[: eq + 1]):
            if len(a) == eq + 1 or len(b) == eq + 1:
                return -1.0  # a value against none
            if _upper_case_word(a[eq + 1 :]) and _upper_case_word(b[eq + 1 :]):
                return -1.0  # state=RUNNING against state=FAILED
        elif eq > 0 or "=" in b or (WILDCARD in a and WILDCARD in b) or (_upper_case_word(a) and _upper_case_word(b)):
            return -1.0
        differ += 1
        if differ > MAX_WORDS_DIFFERING:
            return -1.0
    return (size - differ) / size


def _upper_case_word(token: str) -> bool:
    """Whether a token is a word in capitals (``LOOKING``, ``(FAILED)``): programs write the states
    and kinds they name that way, so two of them are two events, where two lower-case words may be
    two names (of a user, a host, a worker) in one event."""
    word = token.strip(_PUNCTUATION)
    return len(word) > 1 and word.isalpha() and word.isupper()


def _generalised(a: str, b: str) -> str:
    if a == b or a == WILDCARD:
        return a
    eq = a.find("=")
    if eq > 0 and b.startswith(a[: eq + 1]):
        return a[: eq + 1] + WILDCARD
    return WILDCARD
