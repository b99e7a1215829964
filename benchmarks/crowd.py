"""Reading crowdsourcing datasets with gold answers, in the two formats of ../shared/data/crowd.

- CrowdTruth's standardised CSV: one row per answer, with a worker column
  (`!amt_worker_ids`, `_worker_id` or `worker`), an item column (`orig_id`, `_unit_id`
  or `unit`), the answer (`response`), the gold answer (`gold`), optional `start`/`end`
  times, and the item's content in the other columns.
- answer.csv + truth.csv (Zheng et al., VLDB 2017): `question, worker, answer` and
  `question, truth`; PATH is the directory or the answer.csv in it.

Answers come back in time order where the data has times (by `start`, ties in file
order), else in file order.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

WORKER_COLUMNS = ("!amt_worker_ids", "_worker_id", "worker_id", "worker", "performer")
ITEM_COLUMNS = ("orig_id", "_unit_id", "unit_id", "unit", "question", "item", "task_id", "task")
ANSWER_COLUMNS = ("response", "answer", "label")
GOLD_COLUMNS = ("gold", "truth", "true_label")
META_COLUMNS = {"!amt_annotation_ids", "_id", "start", "end", "_started_at", "_created_at"}


@dataclass(frozen=True)
class Answer:
    item: str
    worker: str
    label: str
    duration_ms: int | None  # time on task, where the data gives it


@dataclass
class Dataset:
    name: str
    labels: list[str]
    items: dict[str, dict[str, Any]]  # item key -> data
    answers: list[Answer]  # in time order
    truth: dict[str, str] = field(default_factory=dict)
    timed: bool = False

    def describe(self) -> str:
        return (
            f"{self.name}: {len(self.items)} items, {len({a.worker for a in self.answers})} "
            f"workers, {len(self.answers)} answers, {len(self.labels)} labels, "
            f"{len(self.truth)} with gold, {'timed' if self.timed else 'file order'}"
        )


def load(path: str | Path) -> Dataset:
    path = Path(path)
    if path.is_dir():
        if (path / "answer.csv").exists():
            return _load_answer_truth(path / "answer.csv", path / "truth.csv", name=path.name)
        csvs = sorted(path.glob("*.csv"))
        if len(csvs) != 1:
            raise SystemExit(f"{path}: expected answer.csv + truth.csv, or one CrowdTruth CSV")
        path = csvs[0]
    if path.name == "answer.csv":
        return _load_answer_truth(path, path.with_name("truth.csv"), name=path.parent.name)
    return _load_crowdtruth(path)


def _pick(header: list[str], names: tuple[str, ...], what: str, path: Path) -> str:
    lowered = {h.lower(): h for h in header}
    for name in names:
        if name in lowered:
            return lowered[name]
    raise SystemExit(f"{path}: no {what} column (looked for {', '.join(names)})")


def _sorted_labels(values: set[str]) -> list[str]:
    try:
        return sorted(values, key=float)
    except ValueError:
        return sorted(values)


_TIME_WITH_ZONE = re.compile(r"^(\w{3} \w{3} +\d+ [\d:]+) \w+ (\d{4})$")


def _time(value: str) -> float | None:
    """Seconds since the epoch for the dates CrowdTruth files carry, else None."""
    value = value.strip()
    if not value:
        return None
    match = _TIME_WITH_ZONE.match(value)  # "Mon Mar 25 07:39:42 PDT 2019" (zone dropped)
    try:
        if match:
            parsed = datetime.strptime(f"{match[1]} {match[2]}", "%a %b %d %H:%M:%S %Y")  # noqa: DTZ007
        else:
            parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.timestamp()


def _load_crowdtruth(path: Path) -> Dataset:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise SystemExit(f"{path}: no rows")
    header = list(rows[0])
    worker = _pick(header, WORKER_COLUMNS, "worker", path)
    item = _pick(header, ITEM_COLUMNS, "item", path)
    answer = _pick(header, ANSWER_COLUMNS, "answer", path)
    gold = next((h for h in header if h.lower() in GOLD_COLUMNS), None)
    used = {worker, item, answer, gold}
    content = [
        h for h in header if h not in used and h not in META_COLUMNS and not h.startswith("!")
    ]
    starts = [_time(row.get("start", "")) for row in rows]
    ends = [_time(row.get("end", "")) for row in rows]
    timed = all(s is not None for s in starts)
    # A HIT's start/end cover every answer the worker gave in it: time on task is its
    # duration shared among them.
    group_size: dict[tuple[str, Any, Any], int] = {}
    for row, start, end in zip(rows, starts, ends, strict=True):
        key = (row[worker], start, end)
        group_size[key] = group_size.get(key, 0) + 1
    answers_timed = []
    items: dict[str, dict[str, Any]] = {}
    truth: dict[str, str] = {}
    for index, (row, start, end) in enumerate(zip(rows, starts, ends, strict=True)):
        key = row[item].strip()
        items.setdefault(key, {column: row[column] for column in content} or {"item": key})
        if gold and row[gold].strip():
            truth[key] = row[gold].strip()
        duration = None
        if start is not None and end is not None and end >= start:
            duration = round(1000 * (end - start) / group_size[(row[worker], start, end)])
        order = (start if timed else 0.0, index)
        answers_timed.append(
            (order, Answer(key, row[worker].strip(), row[answer].strip(), duration))
        )
    answers_timed.sort(key=lambda pair: pair[0])
    answers = [a for _, a in answers_timed]
    labels = _sorted_labels({a.label for a in answers} | set(truth.values()))
    return Dataset(path.stem, labels, items, answers, truth, timed)


def _load_answer_truth(answer_path: Path, truth_path: Path, *, name: str) -> Dataset:
    with answer_path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    header = list(rows[0]) if rows else []
    item = _pick(header, ITEM_COLUMNS, "item", answer_path)
    worker = _pick(header, WORKER_COLUMNS, "worker", answer_path)
    answer = _pick(header, ANSWER_COLUMNS, "answer", answer_path)
    answers = [Answer(r[item].strip(), r[worker].strip(), r[answer].strip(), None) for r in rows]
    truth: dict[str, str] = {}
    if truth_path.exists():
        with truth_path.open(newline="", encoding="utf-8") as handle:
            truth_rows = list(csv.DictReader(handle))
        if truth_rows:
            columns = list(truth_rows[0])
            t_item = _pick(columns, ITEM_COLUMNS, "item", truth_path)
            t_gold = _pick(columns, GOLD_COLUMNS, "truth", truth_path)
            truth = {r[t_item].strip(): r[t_gold].strip() for r in truth_rows}
    # No content in this format: an id only (a number where it is one, so that the
    # encoder finds no text to embed in it).
    items = {a.item: {"item": int(a.item) if a.item.isdigit() else a.item} for a in answers}
    labels = _sorted_labels({a.label for a in answers} | set(truth.values()))
    return Dataset(name, labels, items, answers, truth, timed=False)
