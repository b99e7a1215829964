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
