"""Log templates for the syslog pipeline: the miner (``miner.py``), its state file and a cache.

Most lines repeat a form already seen with other digits. Masking reads every digit as a value
(``Masker.digit_blind``), so a line with its digits read as 0 is a cache key that skips masking
and the miner's search; it is only kept for forms the miner itself remembers, so the cache never
changes a grouping. The state file keeps template ids stable across restarts; a state left by the
Drain3 miner of earlier versions is taken over once, ids kept.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from graph_schema import event_templates
from ingest.syslog.miner import WILDCARD, Masker, TemplateMiner
from ingest.syslog.private_files import private_dir, warn_if_open, write_private

log = logging.getLogger(__name__)

STATE_FORMAT = "rca-log-templates/1"
_CACHE_LIMIT = 100_000
_DIGITS_TO_ZERO = str.maketrans("123456789", "000000000")


def load_masks(extra: Iterable[dict] = ()) -> list[tuple[str, str]]:
    """The user's extra masks as (name, pattern) pairs, each checked here."""
    masks = []
    for i, entry in enumerate(extra):
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("pattern"):
            raise ValueError(f"extra mask #{i + 1} needs a name and a pattern")
        try:
            re.compile(str(entry["pattern"]))
        except re.error as exc:
            raise ValueError(f"extra mask #{i + 1} ({entry['name']}): bad pattern: {exc}") from None
        masks.append((str(entry["name"]), str(entry["pattern"])))
    return masks


class LogTemplates:
    """Assigns each message a stable template id and keeps the template text."""

    def __init__(
        self,
        extra_masks: Sequence[tuple[str, str]] = (),
        *,
        max_templates: int = 20000,
        state_file: Path | None = None,
        legacy_state_file: Path | None = None,
        cache: bool = True,
    ):
        self._masker = Masker(extra_masks)
        self._miner = TemplateMiner(max_templates)
        self._state_file = state_file
        self._cache: dict[str, int] | None = {} if cache else None
        # Without user masks, lines differing only in their digits mask alike; with them the
        # raw text is the key (a user mask may tell one digit from another).
        self._digit_blind = self._masker.digit_blind
        self._dirty = False
        if state_file is not None:
            private_dir(state_file.parent)
            warn_if_open(state_file)
            if state_file.exists():
                self._load(state_file)
            elif legacy_state_file is not None and legacy_state_file.exists():
                self._migrate(legacy_state_file)
                self._dirty = True
                self.save()  # the new state exists from now on; the old file is left as it was

    def add(self, message: str) -> int:
        """The template id of ``message``, mining a new template when none fits."""
        message = message.strip()
        cache = self._cache
        key = message.translate(_DIGITS_TO_ZERO) if self._digit_blind else message
        if cache is not None:
            template_id = cache.get(key)
            if template_id is not None and template_id in self._miner.templates:
                self._miner.touch(template_id)
                return template_id
        tokens = self._masker.tokens(message)
        changes = self._miner.changes
        template_id = self._miner.add(tokens)
        self._dirty = self._dirty or self._miner.changes != changes
        if cache is not None and self._miner.remembers(tokens):
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[key] = template_id
        return template_id

    def mask(self, message: str) -> str:
        """The message as the miner sees it: values replaced by ``<*>``."""
        return " ".join(self._masker.tokens(message.strip()))

    def template(self, template_id: int) -> str:
        """The current text of a template (it generalises as lines arrive)."""
        template = self._miner.templates.get(template_id)
        return template.text if template is not None else ""

    def __len__(self) -> int:
        return len(self._miner.templates)

    def save(self) -> None:
        """Persist the templates if they changed since the last save (atomically, 0600)."""
        if self._state_file is not None and self._dirty:
            state = {"format": STATE_FORMAT, **self._miner.state()}
            write_private(self._state_file, json.dumps(state, separators=(",", ":")).encode())
            self._dirty = False

    def _load(self, path: Path) -> None:
        try:
            state = json.loads(path.read_bytes())
            if state.get("format") != STATE_FORMAT:
                raise ValueError(f"format {state.get('format')!r}, expected {STATE_FORMAT!r}")
            self._miner.load(state)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"template state {path} cannot be read: {exc}") from None

    def _migrate(self, legacy: Path) -> int:
        """Take over the templates of a Drain3 state file under their ids; how many."""
        from drain3 import TemplateMiner as Drain3Miner  # only needed once, for old state
        from drain3.file_persistence import FilePersistence

        old = Drain3Miner(FilePersistence(str(legacy)))
        adopted = 0
        for cluster in sorted(old.drain.id_to_cluster.values(), key=lambda c: c.cluster_id):
            text = event_templates.in_current_form(cluster.get_template())  # <NUM>, <HOST>... as <*>
            adopted += self._miner.adopt(cluster.cluster_id, self._masker.tokens(text))
        log.info("took over %d templates of the Drain3 state %s", adopted, legacy)
        return adopted


def grouping_accuracy(truth: Sequence[str], predicted: Sequence[object]) -> float:
    """Share of lines whose mined group holds exactly the lines of their true template."""
    true_groups: dict[str, set[int]] = defaultdict(set)
    mined_groups: dict[object, set[int]] = defaultdict(set)
    for i, (t, p) in enumerate(zip(truth, predicted, strict=True)):
        true_groups[t].add(i)
        mined_groups[p].add(i)
    correct = sum(
        len(members) for members in mined_groups.values() if true_groups[truth[next(iter(members))]] == members
    )
    return correct / len(truth) if truth else 1.0


__all__ = ["WILDCARD", "LogTemplates", "grouping_accuracy", "load_masks"]
