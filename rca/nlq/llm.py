"""The optional language-model backend: asked to fill the same typed intent and slots, never to write a query.

Off unless ``service.ask.llm_url`` is set. It is asked only when the rules did not match and the
classifier is unsure. The model gets the question, the intents and the entity names it may choose
from, and must answer one JSON object; that object is validated (pydantic) against a closed intent
list and the catalog's names, and the offline parse is kept on any timeout, transport error,
malformed or out-of-range answer. Two APIs are spoken: OpenAI-compatible ``/chat/completions`` and
Ollama's ``/api/chat``; both over plain HTTP(S) with the standard library.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import urllib.error
import urllib.request
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rca.nlq.entities import EntityCatalog, Link
from rca.nlq.intent_rules import INTENTS
from rca.nlq.parser import Parsed
from settings.ask import AskSettings

log = logging.getLogger(__name__)
MAX_REPLY_BYTES = 64 * 1024
LLM_INTENTS = tuple(intent for intent in INTENTS if intent != "clarify")  # asking back is ours to decide
_PROMPT = (
    "You classify questions about a microservice estate. Answer with one JSON object only: "
    '{{"intent": one of {intents}, "entities": [names of entities the question is about, from this list only: '
    '{names}]}}. Use "refused" for anything that is not a question about these services, their changes, metric '
    "anomalies, error logs, incidents, health, dependencies or root causes.\nQuestion: {question}"
)


class Slots(BaseModel):
    """What the model may say: a known intent and up to five entity names."""

    model_config = ConfigDict(extra="ignore")

    intent: Literal[LLM_INTENTS]  # type: ignore[valid-type]
    entities: list[str] = Field(default_factory=list, max_length=5)


class LanguageModel:
    """Asks the configured endpoint; returns None whenever the answer cannot be used."""

    def __init__(self, settings: AskSettings, catalog: EntityCatalog):
        self.settings = settings
        self.catalog = catalog

    def __call__(self, question: str, offline: Parsed) -> Parsed | None:
        """The offline parse with the model's intent and entities, or None (keep the offline answer)."""
        names = ", ".join(sorted(e.name for e in self.catalog.entities))
        prompt = _PROMPT.format(intents=", ".join(LLM_INTENTS), names=names, question=json.dumps(question))
        try:
            slots = Slots.model_validate_json(self._content(self._post(prompt)))
        except (OSError, urllib.error.URLError, ValueError, ValidationError, KeyError, TypeError) as exc:
            log.info(
                "language model gave no usable answer (%s: %s); keeping the offline parse", type(exc).__name__, exc
            )
            return None
        by_name = {e.name.lower(): e for e in self.catalog.entities}
        offline_links = {link.entity: link for link in offline.links}  # keep where the words were
        links = [
            offline_links.get(by_name[n.lower()]) or Link(by_name[n.lower()], n, 100.0, 0, 0)
            for n in slots.entities
            if n.lower() in by_name
        ]
        if len(links) != len(slots.entities):
            log.info("language model named entities the graph does not have: %s", slots.entities)
            return None
        return dataclasses.replace(
            offline, intent=slots.intent, links=links or offline.links, understood_by="llm", confidence=1.0
        )

    def _post(self, prompt: str) -> dict:
        base = self.settings.llm_url.rstrip("/")
        messages = [{"role": "user", "content": prompt}]
        if self.settings.llm_kind == "ollama":
            url, body = (
                f"{base}/api/chat",
                {"model": self.settings.llm_model, "messages": messages, "stream": False, "format": "json"},
            )
        else:
            url, body = (
                f"{base}/chat/completions",
                {"model": self.settings.llm_model, "messages": messages, "temperature": 0},
            )
        headers = {"Content-Type": "application/json"}
        if self.settings.llm_api_key is not None:
            headers["Authorization"] = f"Bearer {self.settings.llm_api_key.get_secret_value()}"
        request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.settings.llm_timeout_s) as reply:
            return json.loads(reply.read(MAX_REPLY_BYTES))

    def _content(self, reply: dict) -> str:
        if self.settings.llm_kind == "ollama":
            return str(reply["message"]["content"])
        return str(reply["choices"][0]["message"]["content"])
