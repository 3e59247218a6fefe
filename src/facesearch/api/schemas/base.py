"""What the schema modules share: :func:`examples` for the OpenAPI document, and
:func:`record_schema`, which derives a response body from the frozen record it shows.

A response body that *is* a record (a store ``*Record``, or a service view such as
:class:`facesearch.service.reviews.LeadView`) takes its fields from the record's dataclass
fields, in their order and with their types and defaults, instead of writing them out a
second time; the schema says only where the API differs: a field it does not show
(``omit``), a public name (``rename``), a type of its own or a description (``fields``),
a field the record lacks (``fields`` too), and an order of its own (``first``). Building
one from its record is :meth:`RecordOut.from_record`.

A field added to a record would appear in the API with it, so it is never silent:
``tests/api/test_schemas.py`` pins each derived body's public fields, and every example
must show every field (``tests/api/test_openapi_examples.py``); whoever adds one decides
whether the API shows it (with an example value) or omits it. Bodies written out that
mirror a value are held to all of its fields by the same test.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, ClassVar, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model

SHA_EXAMPLE = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def examples(*values: dict[str, Any]) -> ConfigDict:
    """A model config whose JSON schema shows ``values`` as its examples."""
    return ConfigDict(json_schema_extra={"examples": list(values)})


R = TypeVar("R")


@dataclasses.dataclass(frozen=True, slots=True)
class Derivation:
    """How a response body was derived: from ``record``, whose fields map to the public
    names in ``shown`` (record order) unless ``omitted``; ``added``: public fields that
    are not the record's."""

    record: type
    shown: Mapping[str, str]
    omitted: frozenset[str]
    added: tuple[str, ...]


class RecordOut(BaseModel, Generic[R]):
    """A response body that shows a record of type ``R``; its fields come from
    :func:`record_schema`."""

    __derivation__: ClassVar[Derivation | None] = None

    @classmethod
    def from_record(cls, record: R, **added: Any) -> Self:
        """The body of ``record``, with values for the fields the record lacks (or the API
        shows differently) given by name; validated like any body. A nested record (e.g. a
        :class:`~facesearch.types.BoundingBox` for a :class:`Box`) is read by attribute
        under the nested body's public names, so a nested body that renames or adds fields
        is built with its own ``of`` and passed by name."""
        derivation = cls.__derivation__
        if derivation is None:
            raise TypeError(f"{cls.__name__} was not derived with record_schema")
        data = {public: getattr(record, name) for name, public in derivation.shown.items()}
        return cls.model_validate(data | added, from_attributes=True)

    @classmethod
    def of(cls, record: R) -> Self:
        """The body of ``record`` (a body that adds fields overrides this to fill them)."""
        return cls.from_record(record)


M = TypeVar("M", bound=RecordOut[Any])


def record_schema(
    record: type,
    *,
    omit: Collection[str] = (),
    rename: Mapping[str, str] | None = None,
    fields: Mapping[str, Any] | None = None,
    first: Sequence[str] = (),
) -> Callable[[type[M]], type[M]]:
    """A class decorator: the decorated :class:`RecordOut` subclass (docstring, model config
    with its examples, methods; no fields of its own) gets the fields of the dataclass
    ``record``, in the record's order, with its types and defaults, except:

    - ``omit``: record fields the API does not show;
    - ``rename``: record field -> public name;
    - ``fields``: public name -> a type, or ``(type, default or Field(...))``: replaces a
      record field's definition (a nested record shown as a body of its own, a
      description), or adds a field the record lacks (after the record's);
    - ``first``: public names put first, in this order (the API's order where it is not
      the record's).

    The result is a subclass of the decorated class made by :func:`pydantic.create_model`
    under the same name, module and docstring, so the OpenAPI document names it as before.

    Raises:
        TypeError: ``omit``, ``rename`` or ``first`` names no such field, or the class
            declares fields itself (they would come before the record's).
    """
    rename = dict(rename or {})
    overrides = dict(fields or {})

    def derive(cls: type[M]) -> type[M]:
        names = [f.name for f in dataclasses.fields(record)]
        unknown = (set(omit) | set(rename)) - set(names)
        if unknown:
            raise TypeError(f"{record.__name__} has no field {sorted(unknown)}")
        if cls.model_fields:
            raise TypeError(f"{cls.__name__} declares fields; give them to record_schema")
        hints = typing.get_type_hints(record)
        definitions: dict[str, Any] = {}
        shown: dict[str, str] = {}
        for f in dataclasses.fields(record):
            if f.name in omit:
                continue
            public = rename.get(f.name, f.name)
            shown[f.name] = public
            if public in overrides:
                definitions[public] = overrides[public]
            elif f.default is not dataclasses.MISSING:
                definitions[public] = (hints[f.name], f.default)
            elif f.default_factory is not dataclasses.MISSING:
                definitions[public] = (hints[f.name], Field(default_factory=f.default_factory))
            else:
                definitions[public] = (hints[f.name], ...)
        added = tuple(name for name in overrides if name not in definitions)
        definitions.update((name, overrides[name]) for name in added)
        missing = set(first) - set(definitions)
        if missing:
            raise TypeError(f"{cls.__name__} has no field {sorted(missing)} to put first")
        ordered = {name: definitions[name] for name in first}
        ordered.update((n, d) for n, d in definitions.items() if n not in ordered)
        derived = create_model(
            cls.__name__,
            __base__=cls,
            __module__=cls.__module__,
            __doc__=cls.__doc__,
            **ordered,
        )
        derived.__qualname__ = cls.__qualname__
        derived.__derivation__ = Derivation(
            record=record,
            shown=shown,
            omitted=frozenset(omit),
            added=added,
        )
        return derived

    return derive
