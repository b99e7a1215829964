"""`YoctoField`: integer yoctoNEAR amounts, exact on PostgreSQL and on SQLite.

1 NEAR is 10**24 yoctoNEAR, past int64. PostgreSQL stores it as numeric(40,0).
SQLite would store a NUMERIC value that does not fit int64 as a REAL and silently
drop digits, so there the column is TEXT holding the canonical decimal string, with a
CHECK that it is one, and sums use `YOCTO_SUM`, an exact aggregate registered on every
SQLite connection. Python code only ever sees `int`.
"""

from decimal import Decimal
from typing import Any, TypeVar

from django.core import exceptions
from django.db import models
from django.db.models import Aggregate
from django.db.models.expressions import Combinable

MAX_YOCTO = 10**39  # numeric(40,0) holds up to 10**40 - 1; keep a margin of one digit

# A model field's set and get types, generic as Django's own fields are in django-stubs.
_ST = TypeVar("_ST", contravariant=True)
_GT = TypeVar("_GT", covariant=True)


class YoctoField(models.Field[_ST, _GT]):
    """An integer amount of yoctoNEAR (1 NEAR = 10**24). `signed` allows negatives."""

    # For django-stubs' plugin: what a model attribute takes and gives (`| None` added
    # where the field is null=True), as it declares for Django's own fields.
    _pyi_private_set_type: int | Combinable
    _pyi_private_get_type: int

    description = "Integer yoctoNEAR amount"

    def __init__(self, *args: Any, signed: bool = False, **kwargs: Any) -> None:
        self.signed = signed
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[Any, ...]:
        name, path, args, kwargs = super().deconstruct()
        if self.signed:
            kwargs["signed"] = True
        return name, path, args, kwargs

    def db_type(self, connection: Any) -> str:
        if connection.vendor == "sqlite":
            return "text"
        return "numeric(40,0)"

    def db_check(self, connection: Any) -> str:
        column = connection.ops.quote_name(self.column)
        if connection.vendor == "sqlite":
            digits = f"({column} GLOB '[0-9]*' AND {column} NOT GLOB '*[^0-9]*')"
            if self.signed:
                negative = f"({column} GLOB '-[1-9]*' AND substr({column}, 2) NOT GLOB '*[^0-9]*')"
                return f"({digits} OR {negative})"
            return digits
        return "" if self.signed else f"{column} >= 0"

    def get_internal_type(self) -> str:
        return "YoctoField"

    def to_python(self, value: Any) -> int | None:
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, Decimal):
            if value != value.to_integral_value():
                raise exceptions.ValidationError("yoctoNEAR amounts are whole numbers.")
            return int(value)
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        raise exceptions.ValidationError(
            "Not an integer amount of yoctoNEAR: %(v)r", params={"v": value}
        )

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, float):  # never stored so; refuse to guess digits
            raise ValueError("YoctoField read a float from the database")
        return int(value)

    def get_prep_value(self, value: Any) -> Any:
        value = self.to_python(value)
        if value is None:
            return None
        if abs(value) >= MAX_YOCTO:
            raise exceptions.ValidationError("Amount out of range.")
        if value < 0 and not self.signed:
            raise exceptions.ValidationError("Amount must not be negative.")
        return value

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if not prepared:
            value = self.get_prep_value(value)
        if value is None:
            return None
        if connection.vendor == "sqlite":
            return str(value)
        return Decimal(value)


class YoctoSum(Aggregate):
    """SUM of a YoctoField, exact on both backends; an empty set sums to 0."""

    function = "SUM"
    name = "YoctoSum"
    output_field = YoctoField(signed=True)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, function="YOCTO_SUM", **extra)

    def convert_value(self, value: Any, expression: Any, connection: Any) -> int:
        return 0 if value is None else int(value)

    def get_db_converters(self, connection: Any) -> list[Any]:
        return [self.convert_value]


class _YoctoSumAggregate:
    """Python-side exact sum for SQLite (sqlite3.create_aggregate protocol)."""

    def __init__(self) -> None:
        self.total = 0
        self.seen = False

    def step(self, value: Any) -> None:
        if value is not None:
            self.total += int(value)
            self.seen = True

    def finalize(self) -> str | None:
        return str(self.total) if self.seen else None


def sqlite_register_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("YOCTO_SUM", 1, _YoctoSumAggregate)
