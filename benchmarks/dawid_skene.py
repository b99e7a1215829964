"""Benchmark: our Dawid-Skene (labeling/quality/dawid_skene.py) against crowd-kit 1.4.2.

    .venv/bin/python benchmarks/dawid_skene.py [--repeat 5]

On RTE and Dog (real answers with gold; NEARLABEL_CROWD_DATA, see benchmarks/crowd_data.py)
and a seeded synthetic set of 25,000 answers (2,500 items x 10, 4 classes, 250 workers),
it prints (asserts nothing):

- accuracy of the final labels against gold: ours, crowd-kit DawidSkene, majority vote;
- ROC-AUC at telling answers equal to gold from the others, of our `correct` and
  `agreement` scores and of crowd-kit's posterior of the submitted label;
- fit time in seconds: ours cold (from the majority vote), ours warm (from a fit on a
  random 98 % of the answers, as a refit after new answers would), crowd-kit; the median
  of --repeat runs, EM rounds in brackets;
- warm starts from --warm-starts different 98 % subsets: EM rounds (median, min-max)
  against the cold fit's, and the most items on which a warm fit's labels differ from the
  cold fit's (EM has nearby optima; a warm start may settle in another one).

No database, no services: numpy, pandas, scikit-learn and crowd-kit in this process.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python benchmarks/dawid_skene.py`, Python puts benchmarks/ first on sys.path;
# the imports below need the project root there instead (as in benchmarks/payouts.py).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from benchmarks._common import log, table  # noqa: E402
from benchmarks.crowd_data import (  # noqa: E402
    CrowdSet,
    crowd_data_missing,
    load_dog,
    load_rte,
    synthetic,
)
from labeling.quality.dawid_skene import Answers, answer_scores, fit  # noqa: E402


@dataclass
class Row:
    name: str
    answers: int
    ours: float
    crowd_kit: float
    majority: float
    auc_correct: float
    auc_agreement: float
    auc_crowd_kit: float
    seconds_cold: float
    seconds_warm: float
    seconds_crowd_kit: float
    rounds_cold: int
    rounds_warm: int
    rounds_warm_all: list[int]
    rounds_crowd_kit: int
    warm_cold_differ_max: int


def _timed(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _accuracy(labels: np.ndarray, gold: np.ndarray) -> float:
    known = gold >= 0
    return float(np.mean(labels[known] == gold[known]))


def _subset(answers: Answers, keep: np.ndarray) -> Answers:
    return Answers(
        item=answers.item[keep],
        worker=answers.worker[keep],
        label=answers.label[keep],
        n_items=answers.n_items,
        n_workers=answers.n_workers,
        n_classes=answers.n_classes,
    )


def measure(crowd: CrowdSet, *, repeat: int, seed: int, warm_share: float, warm_starts: int) -> Row:
    from crowdkit.aggregation import DawidSkene, MajorityVote

    answers, gold = crowd.answers, crowd.gold
    log(f"{crowd.name}: {answers.n_answers} answers")
    seconds_cold, cold = _timed(lambda: fit(answers), repeat)
    shares = [np.random.default_rng(seed + i).random(answers.n_answers) for i in range(warm_starts)]
    earlier = [fit(_subset(answers, share < warm_share)) for share in shares]
    seconds_warm, warm = _timed(lambda: fit(answers, init=earlier[0].warm_start()), repeat)
    warm_fits = [fit(answers, init=e.warm_start()) for e in earlier]
    scores = answer_scores(answers, cold)

    frame = crowd.frame()
    crowd_kit_repeat = max(1, min(repeat, 3))  # seconds per run: keep the benchmark short
    seconds_crowd_kit, model = _timed(lambda: DawidSkene(n_iter=100).fit(frame), crowd_kit_repeat)
    probas = model.probas_.reindex(range(answers.n_items))
    crowd_kit_labels = probas.to_numpy().argmax(axis=1)
    majority = MajorityVote().fit_predict(frame).reindex(range(answers.n_items)).to_numpy()
    crowd_kit_posterior = probas.to_numpy()[answers.item, answers.label]

    is_right = answers.label == gold[answers.item]
    known = gold[answers.item] >= 0
    return Row(
        name=crowd.name,
        answers=answers.n_answers,
        ours=_accuracy(cold.labels, gold),
        crowd_kit=_accuracy(crowd_kit_labels, gold),
        majority=_accuracy(majority, gold),
        auc_correct=roc_auc_score(is_right[known], scores.correct[known]),
        auc_agreement=roc_auc_score(is_right[known], scores.agreement[known]),
        auc_crowd_kit=roc_auc_score(is_right[known], crowd_kit_posterior[known]),
        seconds_cold=seconds_cold,
        seconds_warm=seconds_warm,
        seconds_crowd_kit=seconds_crowd_kit,
        rounds_cold=cold.iterations,
        rounds_warm=warm.iterations,
        rounds_crowd_kit=len(model.loss_history_),
        rounds_warm_all=[w.iterations for w in warm_fits],
        warm_cold_differ_max=max(int(np.sum(w.labels != cold.labels)) for w in warm_fits),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing (median)")
    parser.add_argument("--seed", type=int, default=7, help="the warm start's subset")
    parser.add_argument(
        "--warm-share", type=float, default=0.98, help="share of the answers the warm start saw"
    )
    parser.add_argument("--warm-starts", type=int, default=10, help="subsets to warm-start from")
    args = parser.parse_args()
    warnings.simplefilter("ignore", FutureWarning)  # pandas, inside crowd-kit

    sets = []
    missing = crowd_data_missing()
    if missing:
        log(f"{missing}: only the synthetic set")
    else:
        sets += [load_rte(), load_dog()]
    sets.append(synthetic())
    rows = [
        measure(
            crowd,
            repeat=args.repeat,
            seed=args.seed,
            warm_share=args.warm_share,
            warm_starts=args.warm_starts,
        )
        for crowd in sets
    ]

    print("Accuracy of the final labels against gold; ROC-AUC of per-answer scores")
    print(
        table(
            ["dataset", "answers", "ours", "crowd-kit DS", "MV", "AUC correct",
             "AUC agreement", "AUC crowd-kit"],
            [
                [r.name, r.answers, f"{r.ours:.4f}", f"{r.crowd_kit:.4f}", f"{r.majority:.4f}",
                 f"{r.auc_correct:.4f}", f"{r.auc_agreement:.4f}", f"{r.auc_crowd_kit:.4f}"]
                for r in rows
            ],
        )
    )  # fmt: skip
    print()
    print("Fit seconds (median), EM rounds in brackets")
    print(
        table(
            ["dataset", "answers", "ours cold", "ours warm", "crowd-kit DS", "crowd-kit/ours"],
            [
                [r.name, r.answers, f"{r.seconds_cold:.4f} ({r.rounds_cold})",
                 f"{r.seconds_warm:.4f} ({r.rounds_warm})",
                 f"{r.seconds_crowd_kit:.4f} ({r.rounds_crowd_kit})",
                 f"{r.seconds_crowd_kit / r.seconds_cold:.0f}x"]
                for r in rows
            ],
        )
    )  # fmt: skip
    print()
    print(f"Warm starts from {args.warm_starts} fits on {args.warm_share:.0%} of the answers")
    print(
        table(
            ["dataset", "cold rounds", "warm rounds median", "min-max", "labels differ (max)"],
            [
                [r.name, r.rounds_cold, statistics.median(r.rounds_warm_all),
                 f"{min(r.rounds_warm_all)}-{max(r.rounds_warm_all)}", r.warm_cold_differ_max]
                for r in rows
            ],
        )
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
