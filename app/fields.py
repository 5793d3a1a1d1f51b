"""Shared fields: the 32-hex ID, the epoch-millisecond time, strict query args."""

import re
import uuid

import marshmallow as ma
from werkzeug.routing import BaseConverter

ID_PATTERN = r"[0-9a-f]{32}"
_ID_RE = re.compile(ID_PATTERN)
_DIGITS_RE = re.compile(r"[0-9]{1,19}", re.ASCII)

# Plausible flight times: from 2000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z.
MIN_EPOCH_MS = 946_684_800_000
MAX_EPOCH_MS = 253_402_300_799_999


def new_id():
    return uuid.uuid4().hex


def is_id(value):
    return isinstance(value, str) and _ID_RE.fullmatch(value) is not None


class IdConverter(BaseConverter):
    """URL part for a 32-hex ID: any other form of ID is simply not found."""

    regex = ID_PATTERN


ID_CONVERTER_DOC = {"type": "string", "pattern": f"^{ID_PATTERN}$"}


class Id(ma.fields.String):
    """A 32-character lowercase hex ID."""

    default_error_messages = {
        "invalid_id": "Not a valid ID: expected 32 lowercase hexadecimal characters."
    }

    def __init__(self, **kwargs):
        metadata = {
            "pattern": f"^{ID_PATTERN}$",
            "example": "034611ca922f665baa9444059fad251c",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not is_id(value):
            raise self.make_error("invalid_id")
        return value


class EpochMillis(ma.fields.Field):
    """Whole epoch milliseconds, as a JSON integer or a string of ASCII digits.

    Fractions, booleans, signs, spaces, underscores and non-ASCII digits are
    refused rather than coerced: int() would accept most of them.
    """

    default_error_messages = {
        "invalid": (
            "Not a valid time: expected whole epoch milliseconds, "
            "as an integer or a string of digits."
        ),
        "range": (
            "Time out of range: expected epoch milliseconds between "
            f"{MIN_EPOCH_MS} (2000-01-01) and {MAX_EPOCH_MS} (9999-12-31)."
        ),
        "seconds": (
            "Time out of range: {input} looks like epoch seconds; "
            "epoch milliseconds are expected (multiply by 1000)."
        ),
    }

    def __init__(self, **kwargs):
        # The documented range is the accepted one, so generated clients
        # and request fuzzers stay inside it.
        metadata = {
            "minimum": MIN_EPOCH_MS,
            "maximum": MAX_EPOCH_MS,
            "description": "Epoch milliseconds (a string of digits is also read).",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else int(value)

    def _deserialize(self, value, attr, data, **kwargs):
        # bool is an int subclass in Python; JSON true is not a time.
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and _DIGITS_RE.fullmatch(value):
            number = int(value)
        else:
            raise self.make_error("invalid")
        if MIN_EPOCH_MS <= number <= MAX_EPOCH_MS:
            return number
        if MIN_EPOCH_MS // 1000 <= number <= MAX_EPOCH_MS // 1000:
            raise self.make_error("seconds", input=number)
        raise self.make_error("range")


def register(api):
    """Teach the OpenAPI document about the shared fields."""
    api.register_converter(IdConverter, lambda converter: ID_CONVERTER_DOC)
    api.register_field(EpochMillis, "integer", "int64")


class StrictQueryMixin:
    """Refuses query parameters it does not know, beside the pager's own.

    A misspelt filter (`?deployment=...`) would otherwise be dropped and
    the answer would silently be the whole log.
    """

    ALSO_ACCEPTED = ()

    @ma.validates_schema(pass_original=True)
    def no_unknown_parameters(self, data, original, **kwargs):
        known = {f.data_key or name for name, f in self.fields.items()}
        known.update(self.ALSO_ACCEPTED)
        unknown = sorted(set(original) - known)
        if unknown:
            raise ma.ValidationError(
                {name: ["Unknown query parameter."] for name in unknown}
            )
