"""When a question is about: a small grammar (lark) over its tokens, with an injectable clock and zone.

Forms understood (tokens from rca.nlq.tokens): "in the last 2 hours", "past 30 minutes", "last hour",
"since 10 minutes", "10 minutes ago", "right now", "now", "today", "yesterday", "this morning",
"this afternoon", "this evening", "tonight", "last night", "yesterday morning", "this week",
"this month", "since yesterday", "since 14:00", "since this morning", "between 14:00 and 14:30 today",
"from 2pm to 3pm yesterday", "at 14:05", ISO 8601 timestamps and dates ("since 2026-12-06T01:00:00Z",
"on 2026-12-05", "between <iso> and <iso>", "around <iso>"), what on-call engineers type in a hurry ("rn",
"atm" for now; "overnight" for last night; "over the weekend": the latest Saturday 00:00 to its Monday or
now) and days of the week ("since monday", "on tuesday", "at 3am on friday": the latest such day up to
today; "last sunday": the one before today). A time without a zone is read in the request's zone. "now"
means the last NOW_S seconds; "at"/"around" a moment means AROUND_S either side.
The grammar is tried on spans that start at a word that can begin a time; the longest span wins.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from lark import Lark, LarkError, Token, Transformer, v_args

NOW_S = 15 * 60
AROUND_S = 15 * 60
MAX_SPAN_TOKENS = 9

_GRAMMAR = r"""
start: last | since | ago | between | day | part | period | current | around | weekend

last: _pre? _the? _lastw amount? unit
since: "since" amount unit "ago"?          -> since_amount
     | "since" dayref                     -> since_day
     | "since" CLOCK "on"? dayref?        -> since_clock
     | "since" ISO                        -> since_iso
     | "since" "this"? PARTW              -> since_part
     | "since" ("the" | "this")? "weekend" -> since_weekend
ago: amount unit "ago"
between: ("between" | "from") point ("and" | "to" | "until" | "till") point dayref?
day: ("on" | "for" | "during")? dayref
part: "this" PARTW                         -> this_part
    | "yesterday" PARTW                    -> yesterday_part
    | "tonight"                            -> tonight
    | "last" "night"                       -> last_night
    | ("over" | "during")? "overnight"     -> last_night
period: "this" "week"                      -> this_week
      | "this" "month"                     -> this_month
current: "right"? "now" | "currently" | "at" "the" "moment" | "at" "present" | "just" "now" | "rn" | "atm"
weekend: ("over" | "during" | "on" | "at")? ("the" | "this")? "weekend"
around: ("at" | "around" | "on")? ISO      -> around_iso
      | ("at" | "around") CLOCK "on"? dayref? -> around_clock

_pre: "in" | "over" | "within" | "during" | "for"
_the: "the"
_lastw: "last" | "past" | "previous"
amount: NUMBER | WORDNUM | "a" | "an" | "one"
      | "a"? "couple" "of"? -> couple
      | "a"? "few" -> few
      | "half" ("an" | "a")? -> half
unit: SECOND | MINUTE | HOUR | DAY | WEEK
dayref: "today" -> today | "yesterday" -> yesterday | DATE -> on_date | WEEKDAY -> weekday
      | "last" WEEKDAY -> last_weekday
point: CLOCK | ISO

PARTW: /(morning|afternoon|evening)\b/
WEEKDAY: /(monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri)\b/
SECOND: /(seconds|second|secs|sec|s)\b/
MINUTE: /(minutes|minute|mins|min|m)\b/
HOUR: /(hours|hour|hrs|hr|h)\b/
DAY: /(days|day|d)\b/
WEEK: /(weeks|week|w)\b/
WORDNUM: /(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|ninety)\b/
ISO.3: /\d{4}-\d{2}-\d{2}t\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(z|[+-]\d{2}:?\d{2})?/
DATE.2: /\d{4}-\d{2}-\d{2}/
CLOCK.2: /\d{1,2}:\d{2}([ap]m)?|\d{1,2}[ap]m|noon|midnight/
NUMBER: /\d+(\.\d+)?/
%ignore " "
"""

_WORD_NUMBERS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "ninety": 90,
}  # fmt: skip
_WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2, "thursday": 3, "thu": 3,
    "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sunday": 6,
}  # fmt: skip
_UNIT_S = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400, "WEEK": 7 * 86400}
_PARTS = {"morning": (6, 12), "afternoon": (12, 18), "evening": (18, 24)}
# Words a time expression can begin with; spans are only tried from these (and numbers, times, dates).
STARTERS = frozenset(
    "in over within during for the last past previous since between from on today yesterday this tonight right "
    "now currently at around just a an one half rn atm overnight weekend".split()
    + list(_WEEKDAYS)
    + list(_WORD_NUMBERS)
)


@dataclass(frozen=True)
class TimeSpan:
    """A window read from the question: epoch seconds, and the tokens it was read from."""

    start: float
    end: float
    text: str
    first_token: int
    end_token: int  # one past the last token


_PER_THREAD = threading.local()


def _parser() -> Lark:
    # one parser per serving thread: a parse keeps state in the parser's lexer and LALR tables' runtime
    parser = getattr(_PER_THREAD, "parser", None)
    if parser is None:
        parser = _PER_THREAD.parser = Lark(_GRAMMAR, parser="lalr", maybe_placeholders=False)
    return parser


class _Window(Transformer):
    """Turns a parse tree into (start, end) datetimes, relative to ``now`` in ``tz``."""

    def __init__(self, now: datetime):
        super().__init__()
        self.now = now
        self.tz = now.tzinfo

    # -- pieces ----------------------------------------------------------------------------
    def amount(self, children):
        if not children:  # "a", "an", "one"
            return 1.0
        (token,) = children
        return float(_WORD_NUMBERS.get(str(token), 0) or float(token))

    def couple(self, _):
        return 2.0

    def few(self, _):
        return 3.0

    def half(self, _):
        return 0.5

    def unit(self, children):
        return float(_UNIT_S[children[0].type])

    def today(self, _):
        return self.now.date()

    def yesterday(self, _):
        return self.now.date() - timedelta(days=1)

    def on_date(self, children):
        return date.fromisoformat(str(children[0]))

    def weekday(self, children):
        """The latest such day up to today ("monday" on a Sunday: six days ago; on a Monday: today)."""
        back = (self.now.weekday() - _WEEKDAYS[str(children[0])]) % 7
        return self.now.date() - timedelta(days=back)

    def last_weekday(self, children):
        """The latest such day before today ("last sunday" on a Sunday: a week ago)."""
        back = (self.now.weekday() - _WEEKDAYS[str(children[0])] - 1) % 7 + 1
        return self.now.date() - timedelta(days=back)

    def point(self, children):
        return children[0]

    # -- helpers ---------------------------------------------------------------------------
    def _at(self, day: date, hour: int, minute: int = 0) -> datetime:
        if hour >= 24:
            return datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
        return datetime.combine(day, time(hour, minute), tzinfo=self.tz)

    def _midnight(self, day: date) -> datetime:
        return self._at(day, 0)

    def _clock(self, token, day: date | None) -> datetime:
        """A clock time on ``day``; without a day, the latest such time not after now."""
        hour, minute = _clock_parts(str(token))
        when = self._at(day or self.now.date(), hour, minute)
        if day is None and when > self.now:
            when -= timedelta(days=1)
        return when

    def _iso(self, token) -> datetime:
        text = str(token).upper()
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=self.tz)

    def _part(self, day: date, name: str) -> tuple[datetime, datetime]:
        first, last = _PARTS[name]
        start, end = self._at(day, first), self._at(day, last)
        return start, min(end, self.now) if start < self.now else end

    # -- forms -----------------------------------------------------------------------------
    def last(self, children):
        amount = children[0] if len(children) == 2 else 1.0
        return self.now - timedelta(seconds=amount * children[-1]), self.now

    def ago(self, children):
        return self.now - timedelta(seconds=children[0] * children[1]), self.now

    def since_amount(self, children):
        return self.ago(children)

    def since_day(self, children):
        return self._midnight(children[0]), self.now

    def since_clock(self, children):
        return self._clock(children[0], children[1] if len(children) > 1 else None), self.now

    def since_iso(self, children):
        return self._iso(children[0]), self.now

    def since_part(self, children):
        return self._part(self.now.date(), str(children[0]))[0], self.now

    def since_weekend(self, _):
        return self.weekend(None)[0], self.now

    def weekend(self, _):
        """The latest weekend: from its Saturday 00:00 to its end (Monday 00:00) or now, if that is earlier."""
        saturday = self.now.date() - timedelta(days=(self.now.weekday() - 5) % 7)
        return self._midnight(saturday), min(self._midnight(saturday + timedelta(days=2)), self.now)

    def between(self, children):
        first, second = children[0], children[1]
        day = children[2] if len(children) > 2 else None
        start = self._iso(first) if first.type == "ISO" else self._clock(first, day or self.now.date())
        end = self._iso(second) if second.type == "ISO" else self._clock(second, start.date())
        if end < start and second.type != "ISO":  # "between 23:00 and 01:00": past midnight
            end += timedelta(days=1)
        return start, end

    def day(self, children):
        day = children[0]
        return self._midnight(day), min(self._midnight(day + timedelta(days=1)), max(self.now, self._midnight(day)))

    def this_part(self, children):
        return self._part(self.now.date(), str(children[0]))

    def yesterday_part(self, children):
        return self._part(self.now.date() - timedelta(days=1), str(children[0]))

    def tonight(self, _):
        return self._part(self.now.date(), "evening")

    def last_night(self, _):
        today = self.now.date()
        return self._at(today - timedelta(days=1), 18), min(self._at(today, 6), self.now)

    def this_week(self, _):
        monday = self.now.date() - timedelta(days=self.now.weekday())
        return self._midnight(monday), self.now

    def this_month(self, _):
        return self._midnight(self.now.date().replace(day=1)), self.now

    def current(self, _):
        return self.now - timedelta(seconds=NOW_S), self.now

    def around_iso(self, children):
        at = self._iso(children[0])
        return at - timedelta(seconds=AROUND_S), at + timedelta(seconds=AROUND_S)

    def around_clock(self, children):
        at = self._clock(children[0], children[1] if len(children) > 1 else None)
        return at - timedelta(seconds=AROUND_S), at + timedelta(seconds=AROUND_S)

    @v_args(inline=True)
    def start(self, window):
        return window


def _clock_parts(text: str) -> tuple[int, int]:
    if text == "noon":
        return 12, 0
    if text == "midnight":
        return 0, 0
    suffix = text[-2:] if text[-2:] in ("am", "pm") else ""
    body = text[: -len(suffix)] if suffix else text
    hour_text, _, minute_text = body.partition(":")
    hour, minute = int(hour_text), int(minute_text or 0)
    if hour > 23 or minute > 59 or (suffix and not 1 <= hour <= 12):
        raise ValueError(f"not a time of day: {text}")
    if suffix == "pm" and hour != 12:
        hour += 12
    elif suffix == "am" and hour == 12:
        hour = 0
    return hour, minute


def _can_start(token: str) -> bool:
    return token in STARTERS or token[:1].isdigit()


def find_window(tokens: list[str], now: float, tz: tzinfo) -> TimeSpan | None:
    """The first time expression in ``tokens`` (longest span at the earliest start), or None."""
    reference = datetime.fromtimestamp(now, tz)
    parser = _parser()
    for first, token in enumerate(tokens):
        if not _can_start(token):
            continue
        for end in range(min(len(tokens), first + MAX_SPAN_TOKENS), first, -1):
            text = " ".join(tokens[first:end])
            try:
                tree = parser.parse(text)
                start, stop = _Window(reference).transform(tree)
            except (LarkError, ValueError, OverflowError):
                continue
            if stop <= start:
                continue
            return TimeSpan(start.timestamp(), stop.timestamp(), text, first, end)
    return None


__all__ = ["AROUND_S", "NOW_S", "TimeSpan", "Token", "find_window"]
