"""The intent classifier: TF-IDF over words and characters and a logistic regression (scikit-learn).

It is trained on the project's own paraphrase set (data/intent_paraphrases.yaml) at install time:
``python -m rca.nlq.intent_model`` (run by scripts/setup.sh) writes the fitted model next to the
set, with the set's hash and the scikit-learn version. ``load()`` uses that file when it matches the
set and the library; otherwise it fits the same model in memory (a fraction of a second; it is
small and deterministic). Nothing is downloaded, ever.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import sklearn
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

log = logging.getLogger(__name__)
DATA = Path(__file__).with_name("data")
PARAPHRASES = DATA / "intent_paraphrases.yaml"
MODEL_FILE = DATA / "intent_model.pickle"


@dataclass(frozen=True)
class Prediction:
    """The classifier's intent and its probability."""

    intent: str
    probability: float


def training_set(path: Path = PARAPHRASES) -> tuple[list[str], list[str]]:
    """(sentences, intents) of the paraphrase set."""
    data = yaml.safe_load(path.read_text())
    sentences, intents = [], []
    for intent, examples in data.items():
        for example in examples or []:
            sentences.append(str(example).lower())
            intents.append(intent)
    return sentences, intents


def vocabulary(path: Path = PARAPHRASES) -> frozenset[str]:
    """Every word of the paraphrase set (the placeholders left out)."""
    sentences, _ = training_set(path)
    return frozenset(word for s in sentences for word in s.split() if word not in ("ent", "time"))


def fit(path: Path = PARAPHRASES) -> Pipeline:
    """Fit the classifier on the paraphrase set."""
    sentences, intents = training_set(path)
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"[a-z0-9']+")),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4))),
        ]
    )
    model = Pipeline([("features", features), ("classes", LogisticRegression(C=20.0, max_iter=2000))])
    model.fit(sentences, intents)
    return model


def _stamp(path: Path) -> str:
    return f"{hashlib.sha256(path.read_bytes()).hexdigest()}|sklearn {sklearn.__version__}"


class IntentModel:
    """The fitted classifier."""

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline

    def predict(self, sentence: str) -> Prediction:
        """The most probable intent of ``sentence`` (ENT/TIME placeholders) and its probability."""
        probabilities = self.pipeline.predict_proba([sentence])[0]
        best = int(probabilities.argmax())
        return Prediction(str(self.pipeline.classes_[best]), float(probabilities[best]))


@cache
def load(path: Path = PARAPHRASES, model_file: Path = MODEL_FILE) -> IntentModel:
    """The model trained at install time if it matches the paraphrase set, else one fitted now."""
    stamp = _stamp(path)
    try:
        with model_file.open("rb") as f:
            saved_stamp, pipeline = pickle.load(f)
        if saved_stamp == stamp:
            return IntentModel(pipeline)
        log.info("%s is for another paraphrase set or scikit-learn; fitting the intent model now", model_file)
    except (OSError, pickle.PickleError, EOFError, ValueError, AttributeError, ImportError):
        log.info("no trained intent model at %s; fitting it now", model_file)
    return IntentModel(fit(path))


def save(path: Path = PARAPHRASES, model_file: Path = MODEL_FILE) -> Path:
    """Fit the model and write it with the stamp of the set and library it was fitted for."""
    pipeline = fit(path)
    with model_file.open("wb") as f:
        pickle.dump((_stamp(path), pipeline), f)
    return model_file


if __name__ == "__main__":
    written = save()
    sentences, _ = training_set()
    print(f"intent model: {len(sentences)} paraphrases -> {written}", file=sys.stderr)
