"""A list's rows without the per-row, per-field overhead of DRF's serializers (issue 17: the API lists).

DRF's `Serializer.to_representation` sends every field of every row through two generic calls: `get_attribute`
(which resolves the source, tests each step for a callable and catches a missing relation) and
`to_representation` (where a datetime looks the time zone up again and a decimal copies a context). A model
serializer also builds its fields afresh for every request. At 50 accounts of 36 fields, nested health included,
that took longer than the database.

`LeanListSerializer` works out once how each field reads its value from a row and writes it (a *plan*), then
applies the plan to every row. The answer is the child serializer's own, field for field: the child still
describes the list in the OpenAPI schema, the detail endpoints use it as before, and a field the plan has no
shortcut for (a method field, a class that writes its own way, a source that is not a model column) is read and
written by the field itself, as DRF would. `core/tests/test_list_serializer.py` compares the two.

A plan is kept for the next list of the same serializer (and time zone) when nothing in it can differ between
requests: the serializer builds its fields the standard way from its class, and none of them is a kind that reads
the request (method fields, hyperlinks, file URLs). It is made from a copy of the serializer whose context refuses
to be read, so a custom field that did read the request fails loudly instead of answering for an earlier one.

Use it from a serializer's `Meta`: `list_serializer_class = LeanListSerializer`.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import Any, cast

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ObjectDoesNotExist
from django.db import models
from django.utils import timezone
from rest_framework import ISO_8601, relations, serializers
from rest_framework.fields import SkipField
from rest_framework.settings import api_settings

_MISSING = object()  # a step's answer when DRF would leave the key out (SkipField)
Step = Callable[[Any], Any]  # a row -> one field's representation, or _MISSING
RowWriter = Callable[[Any], dict[str, Any]]

# Fields whose answer depends on the request, not only on the row: a plan holding one is made for each list.
_READS_THE_REQUEST = (
    serializers.SerializerMethodField,
    relations.HyperlinkedRelatedField,
    serializers.FileField,
)


def _same(obj: Any, base: type, name: str) -> bool:
    """True when `obj`'s class uses `base`'s own `name` (no subclass changed it)."""
    return getattr(type(obj), name) is getattr(base, name)


# --- reading ---------------------------------------------------------------------------------------------------


def _model_path(model: type[models.Model] | None, attrs: list[str]) -> bool:
    """Whether `attrs` walks concrete model fields only: every step but the last a forward relation or a one-to-one,
    the last a column or a single related object. Such a path holds no method or property to call, so attribute
    access reads it as DRF would."""
    if model is None or not attrs:
        return False
    current: Any = model
    for position, attr in enumerate(attrs):
        try:
            model_field = current._meta.get_field(attr)
        except FieldDoesNotExist:
            return False
        if position == len(attrs) - 1:
            return not (model_field.many_to_many or model_field.one_to_many)
        if not (model_field.is_relation and (model_field.many_to_one or model_field.one_to_one)):
            return False
        current = model_field.related_model
    return True


def _is_column(model: type[models.Model] | None, attrs: list[str]) -> bool:
    """A plain column of the row itself: reading it can raise nothing."""
    if model is None or len(attrs) != 1:
        return False
    try:
        model_field = model._meta.get_field(attrs[0])
    except FieldDoesNotExist:
        return False
    return model_field.concrete and not model_field.is_relation


def _pk_reader(field: relations.PrimaryKeyRelatedField, model: type[models.Model] | None) -> Step | None:
    """A related object's primary key straight from the row's `<name>_id` column, as DRF's pk-only shortcut does."""
    if model is None or field.pk_field is not None or len(field.source_attrs) != 1:
        return None
    if not (
        _same(field, relations.PrimaryKeyRelatedField, "to_representation")
        and _same(field, relations.RelatedField, "get_attribute")
        and field.use_pk_only_optimization()
    ):
        return None
    try:
        model_field = model._meta.get_field(field.source_attrs[0])
    except FieldDoesNotExist:
        return None
    if not (model_field.concrete and model_field.is_relation and model_field.many_to_one):
        return None
    return attrgetter(model_field.attname)


# --- writing ---------------------------------------------------------------------------------------------------


def _datetime_writer(field: serializers.DateTimeField) -> Callable[[Any], Any]:
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if output_format is None or output_format.lower() != ISO_8601:
        return field.to_representation
    # The zone DRF looks up for every value, once (a kept plan is kept per zone).
    zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()
    if zone is None:
        return field.to_representation

    def write(value: Any) -> Any:
        if type(value) is not dt.datetime or value.tzinfo is None:
            return field.to_representation(value)
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return write


def _date_writer(field: serializers.DateField) -> Callable[[Any], Any]:
    output_format = getattr(field, "format", api_settings.DATE_FORMAT)
    if output_format is None or output_format.lower() != ISO_8601:
        return field.to_representation
    return lambda value: value.isoformat() if type(value) is dt.date else field.to_representation(value)


def _decimal_writer(field: serializers.DecimalField) -> Callable[[Any], Any]:
    coerce_to_string = getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
    if field.localize or field.normalize_output or not coerce_to_string or field.decimal_places is None:
        return field.to_representation
    # DecimalField.quantize, with its context and exponent made once instead of for every value.
    context = decimal.getcontext().copy()
    if field.max_digits is not None:
        context.prec = field.max_digits
    exponent = decimal.Decimal(".1") ** field.decimal_places
    rounding = field.rounding

    def write(value: Any) -> Any:
        if type(value) is not decimal.Decimal:
            return field.to_representation(value)
        return f"{value.quantize(exponent, rounding=rounding, context=context):f}"

    return write


def _choice_writer(field: serializers.ChoiceField) -> Callable[[Any], Any]:
    known = field.choice_strings_to_values
    return lambda value: known.get(value, value) if type(value) is str and value else field.to_representation(value)


def _related_many_writer(field: relations.ManyRelatedField) -> Callable[[Any], Any]:
    child = field.child_relation
    if type(child) is relations.SlugRelatedField:
        slug = attrgetter(child.slug_field)
        return lambda related: [slug(item) for item in related]
    if type(child) is relations.PrimaryKeyRelatedField and child.pk_field is None:
        return lambda related: [item.pk for item in related]
    return field.to_representation


# A value already of the output's type is written as it is by these fields' to_representation.
_PASSED_THROUGH: tuple[tuple[type[serializers.Field], type], ...] = (
    (serializers.CharField, str),
    (serializers.IntegerField, int),
    (serializers.BooleanField, bool),
    (serializers.FloatField, float),
)


def _passed_through(field: serializers.Field) -> type | None:
    for base, kind in _PASSED_THROUGH:
        if isinstance(field, base) and _same(field, base, "to_representation"):
            return kind
    return None


def _writer(field: serializers.Field) -> Callable[[Any], Any]:
    """A fast `field.to_representation` where the field's class left DRF's own as it is."""
    if isinstance(field, serializers.DateTimeField) and _same(field, serializers.DateTimeField, "to_representation"):
        return _datetime_writer(field)
    if isinstance(field, serializers.DateField) and _same(field, serializers.DateField, "to_representation"):
        return _date_writer(field)
    if isinstance(field, serializers.DecimalField) and _same(field, serializers.DecimalField, "to_representation"):
        return _decimal_writer(field)
    if isinstance(field, serializers.ChoiceField) and _same(field, serializers.ChoiceField, "to_representation"):
        return _choice_writer(field)
    kind = _passed_through(field)
    if kind is not None:
        return lambda value: value if type(value) is kind else field.to_representation(value)
    if isinstance(field, serializers.JSONField) and _same(field, serializers.JSONField, "to_representation"):
        if not field.binary:
            return lambda value: value
    if type(field) is serializers.ReadOnlyField:
        return lambda value: value
    return field.to_representation


# --- the plan ----------------------------------------------------------------------------------------------------


def _by_the_field(field: serializers.Field, write: Callable[[Any], Any]) -> Step:
    """DRF's own loop body for one field (Serializer.to_representation), with the writer given."""

    def step(row: Any) -> Any:
        try:
            attribute = field.get_attribute(row)
        except SkipField:
            return _MISSING
        check_for_none = attribute.pk if isinstance(attribute, relations.PKOnlyObject) else attribute
        return None if check_for_none is None else write(attribute)

    return step


def _step(field: serializers.Field, model: type[models.Model] | None) -> Step:
    if isinstance(field, serializers.ListSerializer | serializers.SerializerMethodField):
        return _by_the_field(field, field.to_representation)
    if isinstance(field, relations.ManyRelatedField):
        # Its get_attribute turns a manager into a queryset, or (desk's tags) reads a prefetched list: keep it.
        return _by_the_field(field, _related_many_writer(field))
    if isinstance(field, relations.PrimaryKeyRelatedField):
        return _pk_reader(field, model) or _by_the_field(field, field.to_representation)

    write = _row_writer(field) if isinstance(field, serializers.Serializer) else _writer(field)
    by_the_field = _by_the_field(field, write)
    base = relations.RelatedField if isinstance(field, relations.RelatedField) else serializers.Field
    if not (_same(field, base, "get_attribute") and _model_path(model, field.source_attrs)):
        return by_the_field  # it reads its own way, or its source is not a model column
    getter = attrgetter(".".join(field.source_attrs))

    kind = _passed_through(field)
    if kind is not None and _is_column(model, field.source_attrs):
        # The common case, a text or number column: one attribute read, no call when the value is already right.
        convert = field.to_representation

        def column(row: Any) -> Any:
            value = getter(row)
            return value if value is None or type(value) is kind else convert(value)

        return column

    def step(row: Any) -> Any:
        try:
            value = getter(row)
        except ObjectDoesNotExist:
            return None  # a missing one-to-one, as DRF reads it
        except (AttributeError, KeyError):
            # A step of the path was None: the field decides (its default, null, or leaving the key out).
            return by_the_field(row)
        return None if value is None else write(value)

    return step


def _model_of(serializer: serializers.BaseSerializer) -> type[models.Model] | None:
    meta = getattr(serializer, "Meta", None)
    return getattr(meta, "model", None) if isinstance(serializer, serializers.ModelSerializer) else None


def _row_writer(serializer: serializers.Serializer) -> RowWriter:
    """One row as `serializer.to_representation` writes it, each field's way of reading and writing found once."""
    if not _same(serializer, serializers.Serializer, "to_representation"):
        return serializer.to_representation  # a serializer that writes its rows its own way
    model = _model_of(serializer)
    steps = [(cast(str, field.field_name), _step(field, model)) for field in serializer._readable_fields]

    def write(row: Any) -> dict[str, Any]:
        out = {}
        for name, step in steps:
            value = step(row)
            if value is not _MISSING:
                out[name] = value
        return out

    return write


# --- plans kept between lists ------------------------------------------------------------------------------------


def _builds_fields_from_its_class(serializer_class: type) -> bool:
    base: type = (
        serializers.ModelSerializer
        if issubclass(serializer_class, serializers.ModelSerializer)
        else serializers.Serializer
    )
    return all(
        getattr(serializer_class, name) is getattr(base, name)
        for name in ("__init__", "get_fields", "to_representation", "_readable_fields")
    )


def _reusable(serializer: serializers.Serializer) -> bool:
    """Whether a plan for `serializer` would serve every list of its class: fields from the class alone, none of
    them reading the request, and the same for every nested serializer."""
    if not _builds_fields_from_its_class(type(serializer)):
        return False
    for field in serializer._readable_fields:
        if isinstance(field, _READS_THE_REQUEST):
            return False
        if isinstance(field, relations.ManyRelatedField) and isinstance(field.child_relation, _READS_THE_REQUEST):
            return False
        nested = field.child if isinstance(field, serializers.ListSerializer) else field
        if isinstance(nested, serializers.Serializer) and not _reusable(nested):
            return False
    return True


class _NoRequest(dict):
    """The context of the copy a kept plan is made from: reading it is a mistake, said plainly."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise ImproperlyConfigured(
            "A field of a LeanListSerializer's child reads the serializer's context, but the list keeps its plan "
            "between requests. Make it a SerializerMethodField, or leave this serializer on DRF's ListSerializer."
        )

    __getitem__ = get = __contains__ = __iter__ = keys = items = values = _refuse


_kept: dict[tuple[type, Any], RowWriter] = {}


def _plan_for(child: serializers.Serializer) -> RowWriter:
    key = (type(child), timezone.get_current_timezone())
    kept = _kept.get(key)
    if kept is not None:
        return kept
    if not _reusable(child):
        return _row_writer(child)
    # Made from a copy without this request's context: nothing of it (its user, its rows) stays in the kept plan.
    plan = _row_writer(type(child)(context=_NoRequest()))
    _kept[key] = plan
    return plan


class LeanListSerializer(serializers.ListSerializer):
    """A ListSerializer that writes each row as its child would, with the per-field work done once (see above)."""

    def to_representation(self, data: models.Manager[Any] | Iterable[Any]) -> list[Any]:
        rows = data.all() if isinstance(data, models.manager.BaseManager) else data
        write = _plan_for(cast(serializers.Serializer, self.child))
        return [write(row) for row in rows]
