"""Flight plan schemas."""

import marshmallow as ma
from marshmallow import fields, validate

from app.fields import EpochMillis, Id, StrictQueryMixin

PLAN_TYPES = ("ardupilot",)
STATUSES = ("draft", "submitted", "approved", "rejected")
# Statuses only an approver (or admin) may set.
REVIEW_STATUSES = ("approved", "rejected")


class PlanBodySchema(ma.Schema):
    commands = fields.List(fields.Dict(), validate=validate.Length(max=10_000))
    home_location = fields.Dict()
    rtl_path = fields.Raw(metadata={"description": "Return-to-launch path"})


class FlightPlanSchema(ma.Schema):
    flight_plan_id = Id(dump_only=True, attribute="_id")
    company_id = fields.String(dump_only=True)
    deployment_id = Id(required=True)
    description = fields.String(
        validate=validate.Length(max=2000), metadata={"example": "North field grid"}
    )
    plan_type = fields.String(
        validate=validate.OneOf(PLAN_TYPES), metadata={"example": "ardupilot"}
    )
    drones = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        validate=validate.Length(max=1000),
    )
    plan = fields.Nested(PlanBodySchema)
    status = fields.String(dump_only=True, metadata={"example": "draft"})
    last_modified_date = EpochMillis(dump_only=True)
    last_modified_by = fields.String(dump_only=True)


class FlightPlanPatchSchema(ma.Schema):
    """What a PATCH may change. The deployment of a plan never changes."""

    description = fields.String(validate=validate.Length(max=2000))
    plan_type = fields.String(validate=validate.OneOf(PLAN_TYPES))
    drones = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        validate=validate.Length(max=1000),
    )
    plan = fields.Nested(PlanBodySchema)
    status = fields.String(
        validate=validate.OneOf(STATUSES),
        metadata={
            "description": "draft or submitted (pilot); approved or rejected "
            "(approver or admin)."
        },
    )


class FlightPlanQueryArgsSchema(StrictQueryMixin, ma.Schema):
    ALSO_ACCEPTED = ("page", "page_size")

    deployment_id = Id(metadata={"description": "Only the plans of this deployment"})
