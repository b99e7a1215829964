"""Crowd answers with gold for the aggregation benchmark and its tests: the two real sets
(RTE, Dog; see the README next to the files) and a seeded synthetic set.

The real files stay outside the project: NEARLABEL_CROWD_DATA names their directory,
by default `../shared/data/crowd` from the repository root. pandas is needed here; it
is a development dependency, like everything under benchmarks/.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.crowd import Dataset, load
from labeling.quality.dawid_skene import Answers, IntArray

ROOT = Path(__file__).resolve().parent.parent
CROWD_DATA_ENV = "NEARLABEL_CROWD_DATA"
RTE_FILE = Path("rte/rte.standardized.csv")
DOG_ANSWERS_FILE = Path("dog/answer.csv")
DOG_TRUTH_FILE = Path("dog/truth.csv")


@dataclass(frozen=True, eq=False)
class CrowdSet:
    name: str
    answers: Answers
    gold: IntArray  # (n_items,) the true class, -1 where the set has none

    def frame(self) -> pd.DataFrame:
        """The answers as crowd-kit takes them: task, worker, label columns."""
        return pd.DataFrame(
            {"task": self.answers.item, "worker": self.answers.worker, "label": self.answers.label}
        )


# Where the data sits beside a checkout (../shared), and on the development and CI
# machines, whose checkouts may be made elsewhere (a fresh clone in a temporary folder).
DEFAULT_DIRS = (ROOT.parent / "shared" / "data" / "crowd", Path("/work/shared/data/crowd"))


def crowd_data_dir() -> Path:
    if os.environ.get(CROWD_DATA_ENV):
        return Path(os.environ[CROWD_DATA_ENV])
    return next((path for path in DEFAULT_DIRS if path.is_dir()), DEFAULT_DIRS[0])


def crowd_data_missing() -> str | None:
    """Why the real sets cannot be loaded, or None if they can."""
    directory = crowd_data_dir()
    for name in (RTE_FILE, DOG_ANSWERS_FILE, DOG_TRUTH_FILE):
        if not (directory / name).is_file():
            return f"crowd data not found: no {directory / name} (set {CROWD_DATA_ENV})"
    return None


def crowd_set(dataset: Dataset) -> CrowdSet:
    """A dataset read by benchmarks.crowd, as index arrays (labels in its label order)."""
    item_ids = sorted(dataset.items)
    item_index = {key: i for i, key in enumerate(item_ids)}
    worker_ids = sorted({a.worker for a in dataset.answers})
    worker_index = {key: i for i, key in enumerate(worker_ids)}
    label_index = {label: i for i, label in enumerate(dataset.labels)}
    answers = Answers(
        item=np.array([item_index[a.item] for a in dataset.answers], dtype=np.int64),
        worker=np.array([worker_index[a.worker] for a in dataset.answers], dtype=np.int64),
        label=np.array([label_index[a.label] for a in dataset.answers], dtype=np.int64),
        n_items=len(item_ids),
        n_workers=len(worker_ids),
        n_classes=len(dataset.labels),
    )
    gold = np.array(
        [label_index[dataset.truth[key]] if key in dataset.truth else -1 for key in item_ids],
        dtype=np.int64,
    )
    return CrowdSet(name=dataset.name, answers=answers, gold=gold)


def load_rte() -> CrowdSet:
    """RTE: 800 items, 164 workers, 10 answers per item, binary."""
    return dataclasses.replace(crowd_set(load(crowd_data_dir() / RTE_FILE)), name="RTE")


def load_dog() -> CrowdSet:
    """Dog: 807 items, 109 workers, 4 classes."""
    return dataclasses.replace(crowd_set(load(crowd_data_dir() / DOG_ANSWERS_FILE)), name="Dog")


def synthetic(
    *,
    n_items: int = 2500,
    answers_per_item: int = 10,
    n_workers: int = 250,
    n_classes: int = 4,
    biased_share: float = 0.15,
    spammer_share: float = 0.15,
    seed: int = 2024,
) -> CrowdSet:
    """Answers drawn from known, varied confusions; every item gets distinct workers.

    Workers: ordinary (accuracy ~ Beta(5, 2), errors drawn from a Dirichlet, so some
    mix-ups are far likelier than others), biased (half their answers go to one
    favourite class) and spammers (uniform answers), in the given shares. True classes
    are imbalanced.
    """
    rng = np.random.default_rng(seed)
    k = n_classes
    class_prior = rng.dirichlet(np.full(k, 3.0))
    truth = rng.choice(k, size=n_items, p=class_prior)

    accuracy = rng.beta(5.0, 2.0, size=n_workers)
    errors = rng.dirichlet(np.ones(k - 1), size=(n_workers, k)) * (1 - accuracy)[:, None, None]
    confusion = np.empty((n_workers, k, k))
    off_diagonal = ~np.eye(k, dtype=bool)
    confusion[:, off_diagonal] = errors.reshape(n_workers, -1)
    confusion[:, np.arange(k), np.arange(k)] = accuracy[:, None]
    shares = [1.0 - biased_share - spammer_share, biased_share, spammer_share]
    kind = rng.choice(3, size=n_workers, p=shares)
    favourite = np.eye(k)[rng.integers(0, k, size=n_workers)]
    confusion[kind == 1] = 0.5 * confusion[kind == 1] + 0.5 * favourite[kind == 1][:, None, :]
    confusion[kind == 2] = 1.0 / k

    # Distinct workers per item: the first answers_per_item of a random order of all.
    order = np.argsort(rng.random((n_items, n_workers)), axis=1)
    worker = order[:, :answers_per_item].ravel().astype(np.int64)
    item = np.repeat(np.arange(n_items, dtype=np.int64), answers_per_item)
    cumulative = np.cumsum(confusion[worker, truth[item]], axis=1)
    label = (rng.random(item.shape[0])[:, None] > cumulative[:, :-1]).sum(axis=1)
    answers = Answers(
        item=item,
        worker=worker,
        label=label.astype(np.int64),
        n_items=n_items,
        n_workers=n_workers,
        n_classes=k,
    )
    return CrowdSet(name="synthetic", answers=answers, gold=truth.astype(np.int64))
