"""Versioned model artifacts and the registry of versions (list, activate, resolve the active one).

An artifact is one torch file holding the weights, the feature columns and schema they were
trained on, the training settings, the data seed, the validation metrics and the fitted
combination with the rules-and-propagation engine. Loading one whose feature schema does not
match what this code builds is refused with a message saying what to do.
"""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from rca.rank.features import FEATURE_SCHEMA_VERSION
from rca.rank.gnn.model import Network, build_model

FORMAT = 1
SHIPPED_DIR = Path(__file__).with_name("models")
SHIPPED_DEFAULT = SHIPPED_DIR / "default.pt"
ACTIVE_FILE = "ACTIVE"


class ArtifactError(ValueError):
    """A model artifact cannot be used (wrong schema, unknown version, unreadable file)."""


@dataclass
class Artifact:
    """A trained model with everything needed to serve, judge and reproduce it."""

    kind: str
    hyper: dict
    state: dict
    feature_names: list[str]
    schema_id: str
    settings: dict
    metrics: dict
    combination: dict = field(default_factory=dict)  # {"names": [...], "weights": [...]}
    parent: str = ""
    created_at: float = 0.0
    version: str = ""

    def __post_init__(self) -> None:
        if not self.version:
            self.version = f"{self.kind}-s{FEATURE_SCHEMA_VERSION}-{weights_digest(self.state)}"

    def model(self) -> Network:
        """The network with these weights, in eval mode."""
        net = build_model(self.kind, len(self.feature_names), **self.hyper)
        try:
            net.load_state_dict(self.state)
        except RuntimeError as exc:
            raise ArtifactError(
                f"model {self.version} was saved by another network architecture; retrain it with "
                f"`rca train` ({str(exc).splitlines()[0]})"
            ) from None
        return net.eval()

    def save(self, path: Path) -> Path:
        """Write the artifact (directories created)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"format": FORMAT, "feature_schema_version": FEATURE_SCHEMA_VERSION, **self.__dict__}, path)
        return path


def weights_digest(state: dict) -> str:
    """A short digest of the weights: equal weights give equal versions."""
    h = hashlib.sha256()
    for name in sorted(state):
        buf = io.BytesIO()
        tensor = state[name].detach().contiguous()
        buf.write(tensor.numpy().tobytes())
        h.update(name.encode())
        h.update(buf.getvalue())
    return h.hexdigest()[:10]


def load(path: Path, expected_names: list[str] | None = None) -> Artifact:
    """Read an artifact; raise ArtifactError when it does not fit the running code's features."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=False)
    except (OSError, RuntimeError, EOFError) as exc:
        raise ArtifactError(f"cannot read model artifact {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ArtifactError(f"{path} is not a format-{FORMAT} model artifact")
    if data["feature_schema_version"] != FEATURE_SCHEMA_VERSION:
        raise ArtifactError(
            f"model {data.get('version', path.name)} was trained on feature schema {data['feature_schema_version']}, "
            f"this code builds feature schema {FEATURE_SCHEMA_VERSION}; retrain it with `rca train`"
        )
    if expected_names is not None and list(data["feature_names"]) != list(expected_names):
        missing = sorted(set(expected_names) - set(data["feature_names"]))
        extra = sorted(set(data["feature_names"]) - set(expected_names))
        raise ArtifactError(
            f"model {data.get('version', path.name)} was trained on other feature columns than this code builds "
            f"(schema {data['schema_id']}; missing {missing[:5]}, unknown {extra[:5]}); retrain it with `rca train`"
        )
    fields = {k: data[k] for k in Artifact.__dataclass_fields__ if k in data}
    return Artifact(**fields)


class Registry:
    """Model versions in a directory, one file each, and which one is active."""

    def __init__(self, directory: Path):
        self.dir = Path(directory)

    def path_of(self, version: str) -> Path:
        """The file of a stored version; ArtifactError when there is none."""
        if version == "default" or (SHIPPED_DEFAULT.exists() and version == self.shipped_version()):
            return SHIPPED_DEFAULT
        path = self.dir / f"{version}.pt"
        if "/" in version or not path.exists():
            known = ", ".join(v for v, _ in self.versions()) or "none"
            raise ArtifactError(f"no model version {version!r}; known: {known}")
        return path

    @staticmethod
    def shipped_version() -> str:
        """The version of the model shipped with the package."""
        return torch.load(SHIPPED_DEFAULT, map_location="cpu", weights_only=False)["version"]

    def versions(self) -> list[tuple[str, Path]]:
        """(version, file) of the shipped default and of every stored version, oldest first."""
        stored = (
            sorted(((p.stem, p) for p in self.dir.glob("*.pt")), key=lambda vp: vp[1].stat().st_mtime)
            if self.dir.exists()
            else []
        )
        shipped = [(self.shipped_version(), SHIPPED_DEFAULT)] if SHIPPED_DEFAULT.exists() else []
        return [vp for vp in shipped if vp[0] not in {v for v, _ in stored}] + stored

    def store(self, artifact: Artifact) -> Path:
        """Keep a version (not yet active)."""
        return artifact.save(self.dir / f"{artifact.version}.pt")

    def active_version(self) -> str:
        """The version the service uses: the ACTIVE pointer, else the shipped default."""
        pointer = self.dir / ACTIVE_FILE
        if pointer.exists() and pointer.read_text().strip():
            return pointer.read_text().strip()
        return self.shipped_version()

    def activate(self, version: str) -> Path:
        """Make a stored version the active one (checks it loads first)."""
        path = self.path_of(version)
        if path == SHIPPED_DEFAULT:
            version = self.shipped_version()
        load(path).model()  # refuses artifacts of another schema or architecture before they go live
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / f".{ACTIVE_FILE}.{time.time_ns()}"
        tmp.write_text(version + "\n")
        tmp.replace(self.dir / ACTIVE_FILE)
        return path

    def load_active(self, expected_names: list[str] | None = None) -> Artifact:
        """The active artifact."""
        return load(self.path_of(self.active_version()), expected_names)
