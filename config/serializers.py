"""The base of every serializer that reads a request body.

A field the serializer does not know is refused (400 `invalid`, the field named in
`details`), not silently dropped: a client's typo ("anwser") fails loudly instead of
acting as if the field were absent, and the OpenAPI schema can say
`additionalProperties: false` truthfully (config/schema.py).

JSON types are taken as the schema states them: DRF would read 12 for a text field as
"12", "12" for a number as 12 and "true" for a boolean as True; here each is refused, so
a client learns of its mistake and the schema describes exactly what is accepted.
"""

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

# The JSON type each kind of field takes (bool is an int in Python: refused for numbers).
_JSON_TYPES: tuple[
    tuple[type[serializers.Field[Any, Any, Any, Any]], tuple[type, ...], Any], ...
] = (
    (serializers.BooleanField, (bool,), _("Must be true or false.")),
    (serializers.CharField, (str,), _("Must be a string.")),
    (serializers.IntegerField, (int,), _("Must be an integer.")),
)


class RequestSerializer(serializers.Serializer[dict[str, Any]]):
    """A request body's serializer: unknown fields and values of the wrong JSON type are
    refused."""

    default_error_messages = {"unknown_field": _("Unknown field.")}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            errors: dict[str, list[Any]] = {
                name: [self.error_messages["unknown_field"]]
                for name in sorted(set(data) - set(self.fields))
            }
            for name, field in self.fields.items():
                value = data.get(name)
                if value is None or field.read_only:
                    continue  # absent or null: the field itself says whether that is allowed
                for kind, types, message in _JSON_TYPES:
                    if isinstance(field, kind) and not _of_type(value, types):
                        errors[name] = [message]
                    if (
                        isinstance(field, serializers.ListField)
                        and isinstance(field.child, kind)
                        and isinstance(value, list)
                        and not all(_of_type(element, types) for element in value)
                    ):
                        errors[name] = [message]
            if errors:
                raise serializers.ValidationError(errors, code="invalid")
        return super().to_internal_value(data)


def _of_type(value: Any, types: tuple[type, ...]) -> bool:
    return isinstance(value, types) and (bool in types or not isinstance(value, bool))
