from collections import Counter
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext

from labeling.task_types.base import AnswerInvalidError, ConfigInvalidError, TaskType, Verdict

MAX_LABELS = 200


class Classification(TaskType):
    """One label out of a fixed list. Config: ["cat", "dog"] or {"labels": [...]}.

    Answer: {"label": "cat"}.
    """

    name = "classification"
    label = "Classification"

    def config_validate(self, config: Any) -> dict[str, Any]:
        labels = config.get("labels") if isinstance(config, dict) else config
        if not isinstance(labels, list) or not 2 <= len(labels) <= MAX_LABELS:
            raise ConfigInvalidError(f"A classification needs a list of 2 to {MAX_LABELS} labels.")
        if not all(
            isinstance(label, str) and label.strip() and len(label) <= 100 for label in labels
        ):
            raise ConfigInvalidError(
                gettext("Labels are non-empty strings of at most 100 characters.")
            )
        if len(set(labels)) != len(labels):
            raise ConfigInvalidError(gettext("Labels must be distinct."))
        return {"labels": labels}

    def answer_validate(self, config: dict[str, Any], answer: Any) -> Any:
        if not isinstance(answer, dict) or set(answer) != {"label"}:
            raise AnswerInvalidError('A classification answer is {"label": "<one of the labels>"}.')
        if answer["label"] not in config["labels"]:
            raise AnswerInvalidError(
                f"Unknown label {answer['label']!r}.", extra={"labels": config["labels"]}
            )
        return {"label": answer["label"]}

    def aggregate(self, config: dict[str, Any], answers: Sequence[Any]) -> Verdict:
        """Majority vote. Every answer in a tie for the most votes counts as agreeing;
        the final label is then the first of the tied labels in the config's order."""
        votes = Counter(answer["label"] for answer in answers)
        top = max(votes.values())
        tied = {label for label, count in votes.items() if count == top}
        final = next(label for label in config["labels"] if label in tied)
        return Verdict(
            answer={"label": final},
            confidence=top / len(answers),
            agrees=tuple(answer["label"] in tied for answer in answers),
        )

    def categories(self, config: dict[str, Any]) -> list[str] | None:
        return list(config["labels"])

    def answer_category(self, config: dict[str, Any], answer: Any) -> int:
        return int(config["labels"].index(answer["label"]))

    def category_answer(self, config: dict[str, Any], index: int) -> Any:
        return {"label": config["labels"][index]}
