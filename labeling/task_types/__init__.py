"""Task types: one interface (validate a config, validate an answer, aggregate answers).

Add a type by writing a module with a `TaskType` subclass and listing it here.
"""

from labeling.task_types.base import AnswerInvalidError, ConfigInvalidError, TaskType, Verdict
from labeling.task_types.classification import Classification

REGISTRY: dict[str, TaskType] = {t.name: t for t in (Classification(),)}


def task_type_get(name: str) -> TaskType:
    return REGISTRY[name]


__all__ = [
    "REGISTRY",
    "AnswerInvalidError",
    "ConfigInvalidError",
    "TaskType",
    "Verdict",
    "task_type_get",
]
