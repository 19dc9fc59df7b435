"""Log template mining: Drain3 with tuned masking, persisted state and a cache for repeats.

Masks come from ``ingest/data/syslog_masking.yaml`` (plus user masks from settings). Most lines
repeat a form already seen, so two bounded caches (digit-blind raw text, then masked text) map
it to its cluster and skip masking and Drain's tree search; Drain only generalises templates,
so a cached answer stays right.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml
from drain3 import TemplateMiner
from drain3.file_persistence import FilePersistence
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

from ingest.syslog.private_files import private_dir, warn_if_open, write_private

log = logging.getLogger(__name__)

MASKING_FILE = Path(__file__).parents[1] / "data" / "syslog_masking.yaml"
_CACHE_LIMIT = 100_000
_DIGITS_TO_ZERO = str.maketrans("123456789", "000000000")


def load_masks(path: Path = MASKING_FILE, extra: Iterable[dict] = ()) -> list[tuple]:
    """(name, pattern, needs) triples: the user's extra masks first, then the data file's."""
    data = yaml.safe_load(path.read_text()) or {}
    entries = [*extra, *data.get("masks", [])]
    masks = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("pattern"):
            raise ValueError(f"mask #{i + 1} in {path} needs a name and a pattern")
        masks.append((str(entry["name"]), str(entry["pattern"]), tuple(entry.get("needs") or ())))
    return masks


class LogTemplates:
    """Assigns each message a stable template id and keeps the template text."""

    def __init__(
        self,
        masks: Sequence[tuple[str, str]],
        *,
        sim_th: float = 0.9,
        depth: int = 5,
        max_clusters: int | None = 20000,
        state_file: Path | None = None,
    ):
        config = TemplateMinerConfig()
        config.drain_sim_th = sim_th
        config.drain_depth = depth
        config.drain_max_clusters = max_clusters
        config.masking_instructions = [MaskingInstruction(m[1], m[0]) for m in masks]
        config.snapshot_interval_minutes = 10**6  # we save on flush, not on Drain's schedule
        persistence = None
        if state_file is not None:
            private_dir(state_file.parent)
            warn_if_open(state_file)
            persistence = _PrivateFilePersistence(str(state_file))
        self._miner = TemplateMiner(persistence, config)
        # A mask with `needs` runs only on text holding one of those substrings: ~20 regexes over
        # every line would otherwise dominate the cost of mining.
        self._masks = [(re.compile(m[1]), f"<{m[0]}>", tuple(m[2]) if len(m) > 2 and m[2] else None) for m in masks]
        self._persistence = persistence
        self._cache: dict[str, int] = {}  # masked text -> template id
        self._shapes: dict[str, int] = {}  # digit-blind raw text -> template id
        self._dirty = False

    def add(self, message: str) -> int:
        """The template id of ``message``, mining a new template when none fits."""
        message = message.strip()
        # Every mask treats all digits alike, so lines differing only in their digits mask alike:
        # the digit-blind shape is a cache key that skips masking for most repeated lines.
        shape = message.translate(_DIGITS_TO_ZERO)
        clusters = self._miner.drain.id_to_cluster
        cluster_id = self._shapes.get(shape)
        if cluster_id is not None and cluster_id in clusters:
            clusters[cluster_id].size += 1
            return cluster_id
        masked = self.mask(message)
        cluster_id = self._cache.get(masked)
        if cluster_id is None or cluster_id not in clusters:
            cluster, change = self._miner.drain.add_log_message(masked)
            if change != "none":
                self._dirty = True
            cluster_id = cluster.cluster_id
        else:
            clusters[cluster_id].size += 1
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
            self._shapes.clear()
        self._cache[masked] = cluster_id
        self._shapes[shape] = cluster_id
        return cluster_id

    def mask(self, text: str) -> str:
        """Apply the masks in order; a mask whose required characters are absent is skipped."""
        for regex, replacement, hints in self._masks:
            if hints is None or (hints[0] in text if len(hints) == 1 else any(h in text for h in hints)):
                text = regex.sub(replacement, text)
        return text

    def template(self, template_id: int) -> str:
        """The current text of a template (it generalises as lines arrive)."""
        cluster = self._miner.drain.id_to_cluster.get(template_id)
        return cluster.get_template() if cluster is not None else ""

    def __len__(self) -> int:
        return len(self._miner.drain.id_to_cluster)

    def save(self) -> None:
        """Persist the miner's state if it changed since the last save."""
        if self._persistence is not None and self._dirty:
            self._miner.save_state("flush")
            self._dirty = False


class _PrivateFilePersistence(FilePersistence):
    """Drain3's file persistence, saving atomically to a 0600 file."""

    def save_state(self, state: bytes) -> None:
        write_private(Path(self.file_path), state)


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
