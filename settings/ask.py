"""Settings of Ask, the natural-language questions (section ``service.ask``, env ``RCA_SERVICE__ASK__*``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class AskSettings(BaseModel):
    """Defaults of Ask and its optional language-model backend (off unless llm_url is set)."""

    default_rows: int = Field(20, ge=1, le=200, description="rows an answer lists when the request says 0")
    max_rows: int = Field(200, ge=1, le=1000, description="largest max_rows accepted")
    time_zone: str = Field("UTC", description="IANA zone for 'today' or '14:00' when a request names none")
    catalog_refresh_s: float = Field(
        30.0, ge=0, description="re-read the entity names the questions are linked against this often (0: every Ask)"
    )
    llm_url: str = Field(
        "",
        description="optional language model asked only when the offline parser is unsure: an OpenAI-compatible "
        "base URL (http://host:8000/v1) or an Ollama one (http://host:11434); empty turns it off",
    )
    llm_kind: Literal["openai", "ollama"] = Field("openai", description="the API llm_url speaks: openai or ollama")
    llm_model: str = Field("", description="model name sent to the language model")
    llm_api_key: SecretStr | None = Field(None, description="bearer key for an OpenAI-compatible endpoint")
    llm_timeout_s: float = Field(2.0, gt=0, le=60, description="longest wait for the language model; then offline")
