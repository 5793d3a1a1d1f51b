"""Flight log schemas: query filters and the shapes of summaries."""

import marshmallow as ma
from marshmallow import fields, validate

from app.fields import EpochMillis, Id, StrictQueryMixin

SORTS = ("start_date_time", "-start_date_time")
GROUPS = ("deployment", "flight_plan")


class SessionFilterArgsSchema(ma.Schema):
    """A plan and a time window; a session is kept when it overlaps the window."""

    flight_plan_id = Id(metadata={"description": "Only the sessions of this plan"})
    window_from = EpochMillis(
        data_key="from",
        metadata={
            "description": "Keep sessions that end at or after this time (epoch ms)",
            "example": 1527469200000,
        },
    )
    window_to = EpochMillis(
        data_key="to",
        metadata={
            "description": "Keep sessions that start at or before this time (epoch ms)",
            "example": 1527479200000,
        },
    )

    @ma.validates_schema
    def window_in_order(self, data, **kwargs):
        start, end = data.get("window_from"), data.get("window_to")
        if start is not None and end is not None and end < start:
            raise ma.ValidationError("'to' must not be before 'from'.", "to")


def sort_field(description, **kwargs):
    return fields.String(
        validate=validate.OneOf(SORTS), metadata={"description": description}, **kwargs
    )


class SessionLogArgsSchema(StrictQueryMixin, SessionFilterArgsSchema):
    ALSO_ACCEPTED = ("page", "page_size")

    deployment_id = Id(metadata={"description": "Only the sessions of this deployment"})
    sort = sort_field(
        "`start_date_time` (oldest first) or `-start_date_time` (newest "
        "first). Sessions that start together are ordered by "
        "`flight_session_id`.",
        load_default="start_date_time",
    )


class SummaryArgsSchema(StrictQueryMixin, SessionFilterArgsSchema):
    deployment_id = Id(metadata={"description": "Only the sessions of this deployment"})
    group_by = fields.String(
        validate=validate.OneOf(GROUPS),
        metadata={"description": "Also give one summary per deployment or plan"},
    )


class DeploymentSummaryArgsSchema(StrictQueryMixin, SessionFilterArgsSchema):
    pass


class StatsSchema(ma.Schema):
    session_count = fields.Integer(metadata={"example": 2})
    total_flight_time_ms = fields.Integer(
        metadata={
            "description": "Sum of end_date_time - start_date_time over the "
            "counted sessions, each counted whole",
            "example": 20000000,
        }
    )
    first_start_date_time = EpochMillis(
        allow_none=True,
        metadata={"description": "Earliest start; null when nothing is counted"},
    )
    last_end_date_time = EpochMillis(
        allow_none=True,
        metadata={"description": "Latest end; null when nothing is counted"},
    )


class DeploymentSummarySchema(StatsSchema):
    deployment_id = Id()

    class Meta:
        fields = (
            "deployment_id",
            "session_count",
            "total_flight_time_ms",
            "first_start_date_time",
            "last_end_date_time",
        )


class GroupSummarySchema(StatsSchema):
    """One group: its `deployment_id` or its `flight_plan_id`, and its figures."""

    deployment_id = Id(metadata={"description": "With group_by=deployment"})
    flight_plan_id = Id(metadata={"description": "With group_by=flight_plan"})

    class Meta:
        fields = (
            "deployment_id",
            "flight_plan_id",
            "session_count",
            "total_flight_time_ms",
            "first_start_date_time",
            "last_end_date_time",
        )


class CompanySummarySchema(StatsSchema):
    group_by = fields.String(metadata={"description": "Present with group_by"})
    groups = fields.List(
        fields.Nested(GroupSummarySchema),
        metadata={
            "description": "Present with group_by: one entry per deployment "
            "or plan that has counted sessions, earliest first"
        },
    )
