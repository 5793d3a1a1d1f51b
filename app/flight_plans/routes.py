"""Flight plan routes: /flight/plans."""

from flask.views import MethodView
from flask_smorest import abort

from app import auth, db
from app.deployments.store import find_deployment
from app.envelope import STALE_MESSAGE, Blueprint
from app.flight_plans import store
from app.flight_plans.schemas import (
    REVIEW_STATUSES,
    FlightPlanPatchSchema,
    FlightPlanQueryArgsSchema,
    FlightPlanSchema,
)
from app.flight_sessions.store import (
    PlanInUse,
    bar_plan,
    count_sessions_of_plan,
    lift_bar,
)
from app.idempotency import idempotent

blp = Blueprint(
    "flight_plans",
    __name__,
    url_prefix="/flight/plans",
    description="Flight plans; a session may only fly an approved one.",
)

NOT_FOUND = "Flight plan not found."


def get_or_404(company_id, flight_plan_id):
    plan = store.find_plan(company_id, flight_plan_id)
    if plan is None:
        abort(404, message=NOT_FOUND)
    return plan


def next_status(identity, plan, changes):
    """The status after this PATCH, or a 403 for a review by a non-reviewer.

    A content change of an approved plan, without a status in the same
    request, sends it back to draft: the approval was of the old content.
    """
    requested = changes.pop("status", None)
    if requested in REVIEW_STATUSES:
        auth.require("approver")
    if requested is not None:
        return requested
    if changes and plan["status"] == "approved":
        return "draft"
    return plan["status"]


def deployment_missing():
    abort(
        422,
        message="The deployment does not exist.",
        errors={"deployment_id": ["No deployment with this ID."]},
    )


@blp.route("")
class FlightPlans(MethodView):
    @blp.arguments(FlightPlanQueryArgsSchema, location="query")
    @blp.response(200, FlightPlanSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """List the company's flight plans

        Optionally only those of one deployment (`?deployment_id=`). Oldest
        first, paginated; totals in the `X-Pagination` header.
        """
        identity = auth.current()
        items, total = store.list_plans(
            identity.company_id,
            args.get("deployment_id"),
            pagination_parameters.first_item,
            pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return items

    @blp.arguments(FlightPlanSchema)
    @idempotent
    @blp.response(200, FlightPlanSchema)
    def post(self, fields):
        """Create a flight plan

        The plan starts as `draft`. `deployment_id` must name one of the
        company's deployments.
        """
        identity = auth.current()
        if find_deployment(identity.company_id, fields["deployment_id"]) is None:
            deployment_missing()
        plan = store.insert_plan(identity.company_id, identity.user_id, fields)

        def take_back():
            store.delete_plan(identity.company_id, plan["_id"])

        # A deployment deleted between the check and the insert took its
        # plans with it before this one existed; look again so that no plan
        # outlives its deployment.
        with db.undone_on_failure(take_back):
            gone = find_deployment(identity.company_id, fields["deployment_id"]) is None
        if gone:
            take_back()
            deployment_missing()
        return plan


@blp.route("/<id:flight_plan_id>")
@blp.etag
class FlightPlanById(MethodView):
    @blp.response(200, FlightPlanSchema)
    def get(self, flight_plan_id):
        """Get a flight plan"""
        identity = auth.current()
        return get_or_404(identity.company_id, flight_plan_id)

    @blp.arguments(FlightPlanPatchSchema)
    @blp.response(200, FlightPlanSchema)
    def patch(self, changes, flight_plan_id):
        """Update, submit, approve or reject a flight plan

        `status` `approved` or `rejected` needs the approver role. Changing
        the content of an approved plan sends it back to `draft`; sessions
        already flown keep their plan ID. With `If-Match`, only the version
        that ETag names is changed (412 otherwise).
        """
        identity = auth.current()
        plan = get_or_404(identity.company_id, flight_plan_id)
        expected = blp.check_if_match(lambda: plan, FlightPlanSchema)
        # A field sent with the value it holds is no change: re-sending an
        # approved plan's content as it is keeps the approval.
        changes = {
            k: v for k, v in changes.items() if k == "status" or plan.get(k) != v
        }
        status = next_status(identity, plan, changes)
        if not changes and status == plan["status"]:
            return plan  # nothing changes, so neither do the audit fields
        try:
            return store.update_plan(
                identity.company_id, identity.user_id, plan, changes, status, expected
            )
        except store.ChangedMeanwhile:
            if expected is not None:
                abort(412, message=STALE_MESSAGE)
            abort(409, message="The plan changed meanwhile; read it and try again.")

    @blp.response(200, FlightPlanSchema)
    def delete(self, flight_plan_id):
        """Delete a flight plan

        A plan that flight sessions still use answers 409 with their count.
        With `If-Match`, only the version that ETag names is deleted (412
        otherwise).
        ---
        The plan is first barred from its deployment's sessions in one
        atomic update that also requires no session to fly it; a session
        created at the same moment either lands before (409 here) or is
        refused by its own update. Only then is the plan document deleted.
        """
        identity = auth.current()
        plan = get_or_404(identity.company_id, flight_plan_id)
        expected = blp.check_if_match(lambda: plan, FlightPlanSchema)
        deployment_id = plan["deployment_id"]
        try:
            bar = bar_plan(identity.company_id, deployment_id, flight_plan_id)
        except PlanInUse:
            used = count_sessions_of_plan(
                identity.company_id, deployment_id, flight_plan_id
            )
            abort(
                409,
                message=f"{used} flight session(s) use this plan; it is kept.",
                errors={"flight_plan_id": [f"Used by {used} flight session(s)."]},
            )

        def lift():
            lift_bar(identity.company_id, deployment_id, bar)

        with db.undone_on_failure(lift):
            deleted = store.delete_plan(identity.company_id, flight_plan_id, expected)
        if deleted is not None:
            return deleted
        # Not deleted by this request: the plan is usable again, unless
        # another deletion of it, with a bar of its own, is under way.
        lift()
        if store.find_plan(identity.company_id, flight_plan_id) is None:
            abort(404, message=NOT_FOUND)
        abort(412, message=STALE_MESSAGE)
