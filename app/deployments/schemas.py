"""Deployment schemas: what a client may send and what it reads back."""

import marshmallow as ma
from marshmallow import fields, validate

from app.fields import EpochMillis, Id, StrictQueryMixin

PURPOSES = (
    "mapping",
    "surveying",
    "inspection",
    "surveillance",
    "delivery",
    "agriculture",
    "search and rescue",
    "others",
)
STATUSES = ("new", "draft", "pending", "ready to fly", "cancelled")

_Name = validate.Length(min=1, max=200)


def _ref_list():
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        validate=validate.Length(max=1000),
    )


class FeatureCollection(fields.Dict):
    """A GeoJSON FeatureCollection (structure only; geometry is not checked)."""

    default_error_messages = {
        "not_collection": (
            # Braces doubled: marshmallow formats error messages.
            'Not a GeoJSON FeatureCollection: expected {{"type": '
            '"FeatureCollection", "features": [...]}} with Feature objects.'
        )
    }

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        features = value.get("features")
        if value.get("type") != "FeatureCollection" or not isinstance(features, list):
            raise self.make_error("not_collection")
        for feature in features:
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                raise self.make_error("not_collection")
        return value


class DeploymentSchema(ma.Schema):
    deployment_id = Id(dump_only=True, attribute="_id")
    company_id = fields.String(dump_only=True)
    name = fields.String(
        required=True, validate=_Name, metadata={"example": "Marina Bay survey"}
    )
    project_id = fields.String(validate=validate.Length(min=1, max=64))
    purpose = fields.List(
        fields.String(validate=validate.OneOf(PURPOSES)),
        validate=validate.Length(max=len(PURPOSES)),
        metadata={"example": ["mapping"]},
    )
    drones = _ref_list()
    batteries = _ref_list()
    cameras = _ref_list()
    personnel = _ref_list()
    deployment_lead_id = fields.String(validate=validate.Length(min=1, max=64))
    deployment_area = FeatureCollection(
        metadata={"example": {"type": "FeatureCollection", "features": []}}
    )
    start_date = EpochMillis(metadata={"example": 1527469200000})
    end_date = EpochMillis(metadata={"example": 1527479200000})
    status = fields.String(
        validate=validate.OneOf(STATUSES), metadata={"example": "new"}
    )

    @ma.validates_schema
    def dates_in_order(self, data, **kwargs):
        start, end = data.get("start_date"), data.get("end_date")
        if start is not None and end is not None and end < start:
            raise ma.ValidationError(
                "end_date must not be before start_date.", "end_date"
            )


class DeploymentPatchSchema(DeploymentSchema):
    """Any subset of the writable fields (used with partial=True)."""


class DeploymentListArgsSchema(StrictQueryMixin, ma.Schema):
    """The list takes only the pager's parameters."""

    ALSO_ACCEPTED = ("page", "page_size")


class DeploymentDeleteArgsSchema(ma.Schema):
    cascade = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Also delete the deployment's flight sessions "
            "(admin only). Without it, a deployment holding sessions is kept."
        },
    )
