"""Task types: one interface (validate a config, validate an answer, aggregate answers).

Add a type by writing a module with a `TaskType` subclass and listing it here.
"""

from labeling.task_types.base import AnswerInvalidError, ConfigInvalidError, TaskType, Verdict
from labeling.task_types.classification import Classification

REGISTRY: dict[str, TaskType] = {t.name: t for t in (Classification(),)}


def task_type_get(name: str) -> TaskType:
    return REGISTRY[name]


def task_type_choices() -> list[tuple[str, str]]:
    """(name, label) of every registered task type: the one source of the choices that
    models, serializers and the schema offer."""
    return [(task_type.name, task_type.label) for task_type in REGISTRY.values()]


__all__ = [
    "REGISTRY",
    "AnswerInvalidError",
    "ConfigInvalidError",
    "TaskType",
    "Verdict",
    "task_type_choices",
    "task_type_get",
]
