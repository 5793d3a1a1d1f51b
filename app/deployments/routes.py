"""Deployment routes: /flight/deployments."""

from flask.views import MethodView
from flask_smorest import abort

from app import auth
from app.deployments import store
from app.deployments.schemas import (
    DeploymentDeleteArgsSchema,
    DeploymentListArgsSchema,
    DeploymentPatchSchema,
    DeploymentSchema,
)
from app.envelope import STALE_MESSAGE, Blueprint
from app.idempotency import idempotent
from app.preconditions import ChangedMeanwhile

blp = Blueprint(
    "deployments",
    __name__,
    url_prefix="/flight/deployments",
    description="Field operations that flight plans and sessions belong to.",
)

NOT_FOUND = "Deployment not found."


def get_or_404(company_id, deployment_id):
    deployment = store.find_deployment(company_id, deployment_id)
    if deployment is None:
        abort(404, message=NOT_FOUND)
    return deployment


@blp.route("")
class Deployments(MethodView):
    @blp.arguments(DeploymentListArgsSchema, location="query")
    @blp.response(200, DeploymentSchema(many=True))
    @blp.paginate()
    def get(self, _args, pagination_parameters):
        """List the company's deployments

        Oldest first; paginated with `page` and `page_size`, the totals in
        the `X-Pagination` header.
        """
        identity = auth.current()
        items, total = store.list_deployments(
            identity.company_id,
            pagination_parameters.first_item,
            pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return items

    @blp.arguments(DeploymentSchema)
    @idempotent
    @blp.response(200, DeploymentSchema)
    def post(self, fields):
        """Create a deployment"""
        identity = auth.current()
        return store.insert_deployment(identity.company_id, fields)


@blp.route("/<id:deployment_id>")
@blp.etag
class DeploymentById(MethodView):
    @blp.response(200, DeploymentSchema)
    def get(self, deployment_id):
        """Get a deployment"""
        identity = auth.current()
        return get_or_404(identity.company_id, deployment_id)

    @blp.arguments(DeploymentPatchSchema(partial=True))
    @blp.response(200, DeploymentSchema)
    def patch(self, changes, deployment_id):
        """Update a deployment

        Any subset of the writable fields. `end_date` may not end up before
        `start_date`, also when only one of them is sent. With `If-Match`,
        only the version that ETag names is changed (412 otherwise).
        """
        identity = auth.current()
        expected = blp.check_if_match(
            lambda: get_or_404(identity.company_id, deployment_id), DeploymentSchema
        )
        try:
            updated = store.update_deployment(
                identity.company_id, deployment_id, changes, expected
            )
        except ChangedMeanwhile:
            abort(412, message=STALE_MESSAGE)
        except store.DatesOutOfOrder:
            field = "end_date" if "end_date" in changes else "start_date"
            abort(
                422,
                message="end_date must not be before start_date.",
                errors={field: ["end_date must not be before start_date."]},
            )
        if updated is None:
            abort(404, message=NOT_FOUND)
        return updated

    @blp.arguments(DeploymentDeleteArgsSchema, location="query")
    @blp.response(200, DeploymentSchema)
    def delete(self, args, deployment_id):
        """Delete a deployment and its flight plans

        A deployment that holds flight sessions answers 409 and is kept,
        unless an admin sends `?cascade=true`. With `If-Match`, only the
        version that ETag names is deleted (412 otherwise).
        """
        identity = auth.require("admin") if args["cascade"] else auth.current()
        expected = blp.check_if_match(
            lambda: get_or_404(identity.company_id, deployment_id), DeploymentSchema
        )
        deleted = store.delete_deployment(
            identity.company_id, deployment_id, args["cascade"], expected
        )
        if deleted is not None:
            return deleted
        count = store.count_sessions(identity.company_id, deployment_id)
        if count is None:
            abort(404, message=NOT_FOUND)
        if expected is not None and (count == 0 or args["cascade"]):
            abort(412, message=STALE_MESSAGE)
        abort(
            409,
            message=(
                f"The deployment holds {count} flight session(s); delete them "
                "first, or ask an admin to delete with ?cascade=true."
            ),
            errors={"flight_sessions": [f"{count} flight session(s) remain."]},
        )
