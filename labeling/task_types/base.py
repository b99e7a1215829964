from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from config.errors import ApplicationError


class ConfigInvalidError(ApplicationError):
    code = "label_config_invalid"


class AnswerInvalidError(ApplicationError):
    code = "answer_invalid"


@dataclass(frozen=True)
class Verdict:
    """What aggregation decided for one item."""

    answer: Any  # the final answer
    confidence: float  # 0..1
    agrees: tuple[bool, ...]  # per input answer, in order: does it count as correct


class TaskType(ABC):
    name: str  # stored in Project.task_type; never rename a registered one
    label: str  # shown to people

    @abstractmethod
    def config_validate(self, config: Any) -> dict[str, Any]:
        """The normalised config, or ConfigInvalidError saying what is wrong."""

    @abstractmethod
    def answer_validate(self, config: dict[str, Any], answer: Any) -> Any:
        """The normalised answer, or AnswerInvalidError saying what is wrong."""

    @abstractmethod
    def aggregate(self, config: dict[str, Any], answers: Sequence[Any]) -> Verdict:
        """Decide one item's final answer from its (validated) answers."""

    def categories(self, config: dict[str, Any]) -> list[str] | None:
        """The classes of a categorical task, in a fixed order, or None.

        A categorical task is judged by the quality engine's Dawid-Skene model; the
        others by `aggregate` and answer similarity.
        """
        return None

    def answer_category(self, config: dict[str, Any], answer: Any) -> int:
        """The index in `categories(config)` of a validated answer."""
        raise NotImplementedError

    def category_answer(self, config: dict[str, Any], index: int) -> Any:
        """The answer that picks category `index`."""
        raise NotImplementedError
