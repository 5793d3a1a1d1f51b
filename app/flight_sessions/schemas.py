"""Flight session schemas: exactly the five fields of the published docs."""

import marshmallow as ma

from app.fields import EpochMillis, Id
from app.flight_log.schemas import SessionFilterArgsSchema, sort_field

_T0, _T1 = 1527469200000, 1527479200000
_ID = "034611ca922f665baa9444059fad251c"

# The examples of the published documentation, for the OpenAPI document.
CREATE_EXAMPLE = {"flight_plan_id": _ID, "start_date_time": _T0, "end_date_time": _T1}
SESSION_EXAMPLE = {
    "flight_session_id": _ID,
    "flight_plan_id": _ID,
    "deployment_id": _ID,
    "start_date_time": _T0,
    "end_date_time": _T1,
}
ONE_EXAMPLE = {"success": True, "data": SESSION_EXAMPLE}
LIST_EXAMPLE = {"success": True, "data": [SESSION_EXAMPLE]}


def _check_order(data):
    start, end = data.get("start_date_time"), data.get("end_date_time")
    if start is not None and end is not None and end < start:
        raise ma.ValidationError(
            "end_date_time must not be before start_date_time.", "end_date_time"
        )


class FlightSessionSchema(ma.Schema):
    flight_session_id = Id(dump_only=True)
    flight_plan_id = Id(required=True)
    # Accepted in a body only as the deployment of the path (routes.py).
    deployment_id = Id()
    start_date_time = EpochMillis(required=True, metadata={"example": _T0})
    end_date_time = EpochMillis(required=True, metadata={"example": _T1})

    class Meta:
        ordered = True

    @ma.validates_schema
    def times_in_order(self, data, **kwargs):
        _check_order(data)


class FlightSessionPatchSchema(ma.Schema):
    """Any subset of the session's properties. The deployment never changes."""

    flight_plan_id = Id()
    deployment_id = Id()
    start_date_time = EpochMillis(metadata={"example": _T0})
    end_date_time = EpochMillis(metadata={"example": _T1})

    @ma.validates_schema
    def times_in_order(self, data, **kwargs):
        _check_order(data)


class FlightSessionQueryArgsSchema(SessionFilterArgsSchema):
    """Optional filters of a deployment's list; without any, the list is whole.

    Unknown parameters stay ignored, as they always were on this route.
    """

    sort = sort_field(
        "`start_date_time` (oldest first) or `-start_date_time` (newest "
        "first), ties by `flight_session_id`. Without it, the order the "
        "sessions were created in."
    )
