"""Flight session routes: /flight/deployments/{deployment_id}/sessions."""

from flask import current_app
from flask.views import MethodView
from flask_smorest import abort

from app import auth
from app.deployments.store import find_deployment
from app.envelope import STALE_MESSAGE, Blueprint
from app.flight_log import export
from app.flight_plans.store import find_approved_plan, find_plan
from app.flight_sessions import store
from app.flight_sessions.schemas import (
    CREATE_EXAMPLE,
    LIST_EXAMPLE,
    ONE_EXAMPLE,
    FlightSessionPatchSchema,
    FlightSessionQueryArgsSchema,
    FlightSessionSchema,
)
from app.idempotency import idempotent
from app.preconditions import ChangedMeanwhile

blp = Blueprint(
    "flight_sessions",
    __name__,
    url_prefix="/flight/deployments/<id:deployment_id>/sessions",
    description="The flights of a deployment, each tied to an approved plan.",
)

DEPLOYMENT_NOT_FOUND = "Deployment not found."
NOT_FOUND = "Flight session not found."


def check_plan(company_id, deployment_id, flight_plan_id):
    """A 404 for a missing deployment, a 422 for a plan a session cannot fly."""
    if find_approved_plan(company_id, deployment_id, flight_plan_id) is not None:
        return
    if find_deployment(company_id, deployment_id) is None:
        abort(404, message=DEPLOYMENT_NOT_FOUND)
    plan = find_plan(company_id, flight_plan_id)
    if plan is None:
        reason = "No flight plan with this ID."
    elif plan["deployment_id"] != deployment_id:
        reason = "The flight plan belongs to another deployment."
    else:
        reason = f"The flight plan is not approved (its status is {plan['status']!r})."
    abort(422, message=reason, errors={"flight_plan_id": [reason]})


def check_new_plan(company_id, deployment_id, flight_session_id, changes):
    """check_plan for a PATCH, which may repeat the plan the session flies.

    A client that sends back the whole session, as the published PATCH
    example does, repeats its plan; that plan may since have been edited
    back to draft, and a flown session keeps its plan. So a repeated plan
    is left out of the change instead of being checked.
    """
    flight_plan_id = changes["flight_plan_id"]
    if find_approved_plan(company_id, deployment_id, flight_plan_id) is not None:
        return
    current = store.find_session(company_id, deployment_id, flight_session_id)
    if current is not None and current["flight_plan_id"] == flight_plan_id:
        del changes["flight_plan_id"]
        return
    check_plan(company_id, deployment_id, flight_plan_id)


def plan_deleted():
    reason = "The flight plan has been deleted."
    abort(422, message=reason, errors={"flight_plan_id": [reason]})


def get_or_404(company_id, deployment_id, flight_session_id):
    session = store.find_session(company_id, deployment_id, flight_session_id)
    if session is None:
        abort(404, message=NOT_FOUND)
    return session


def stays_in(deployment_id, fields):
    """Drop a body's `deployment_id` if it names the path's; refuse another.

    The seed lists it among a session's properties, so a client may echo
    it back; the path alone says where a session lives.
    """
    named = fields.pop("deployment_id", deployment_id)
    if named != deployment_id:
        message = (
            "A flight session cannot move to another deployment; "
            "deployment_id must be the one in the path."
        )
        abort(422, message=message, errors={"deployment_id": [message]})


def times_error(changes):
    field = "start_date_time" if "start_date_time" in changes else "end_date_time"
    message = "end_date_time must not be before start_date_time."
    abort(422, message=message, errors={field: [message]})


@blp.route("")
class FlightSessions(MethodView):
    @blp.arguments(FlightSessionQueryArgsSchema, location="query")
    @blp.response(200, FlightSessionSchema(many=True), example=LIST_EXAMPLE)
    @blp.doc(**export.documented("With `Accept: text/csv`: the same sessions as CSV."))
    def get(self, args, deployment_id):
        """Get all deployment flight sessions

        Every session of a deployment of the caller's company, oldest first.

        Optional filters, as on `GET /flight/sessions`: `flight_plan_id`,
        and the window `from`/`to` (epoch ms) that keeps the sessions
        overlapping it. `sort=start_date_time` or `sort=-start_date_time`
        orders by start time; without it the order is that of creation.
        Never paginated. With `Accept: text/csv` the answer is CSV.
        """
        identity = auth.current()
        # The documented default, no parameters, stays one plain read.
        if args:
            sessions = store.list_matching_sessions(
                identity.company_id, deployment_id, args, args.get("sort")
            )
        else:
            sessions = store.list_sessions(identity.company_id, deployment_id)
        if sessions is None:
            abort(404, message=DEPLOYMENT_NOT_FOUND)

        if export.wants_csv():
            filename = f"flight-sessions-{deployment_id}.csv"
            return export.csv_response(sessions, export.SESSION_COLUMNS, filename)
        return sessions

    @blp.arguments(FlightSessionSchema, example=CREATE_EXAMPLE)
    @idempotent
    @blp.response(200, FlightSessionSchema, example=ONE_EXAMPLE)
    def post(self, fields, deployment_id):
        """Create new flight session

        `flight_plan_id` must name an approved plan of this deployment;
        `end_date_time` may not be before `start_date_time`. Times are epoch
        milliseconds, as numbers or strings of digits. Answers 200, as
        documented, with the new session.
        """
        stays_in(deployment_id, fields)
        identity = auth.current()
        check_plan(identity.company_id, deployment_id, fields["flight_plan_id"])
        limit = current_app.config["MAX_SESSIONS_PER_DEPLOYMENT"]
        try:
            session = store.insert_session(
                identity.company_id, identity.user_id, deployment_id, fields, limit
            )
        except store.DeploymentFull:
            abort(
                409,
                message=f"The deployment already holds the maximum of {limit} "
                "flight sessions.",
            )
        except store.PlanDeleted:
            plan_deleted()
        if session is None:
            abort(404, message=DEPLOYMENT_NOT_FOUND)
        return session


@blp.route("/<id:flight_session_id>")
@blp.etag
class FlightSessionById(MethodView):
    @blp.response(200, FlightSessionSchema, example=ONE_EXAMPLE)
    def get(self, deployment_id, flight_session_id):
        """Get a flight session"""
        identity = auth.current()
        return get_or_404(identity.company_id, deployment_id, flight_session_id)

    @blp.arguments(FlightSessionPatchSchema, example=CREATE_EXAMPLE)
    @blp.response(200, FlightSessionSchema, example=ONE_EXAMPLE)
    def patch(self, changes, deployment_id, flight_session_id):
        """Update a flight session

        Any subset of `flight_plan_id`, `start_date_time` and `end_date_time`.
        The end may not fall before the start, also when only one is sent.
        A session never moves to another deployment. With `If-Match`, only
        the version that ETag names is changed (412 otherwise).
        """
        stays_in(deployment_id, changes)
        identity = auth.current()
        expected = blp.check_if_match(
            lambda: get_or_404(identity.company_id, deployment_id, flight_session_id),
            FlightSessionSchema,
        )
        if "flight_plan_id" in changes:
            check_new_plan(
                identity.company_id, deployment_id, flight_session_id, changes
            )
        try:
            session = store.update_session(
                identity.company_id, deployment_id, flight_session_id, changes, expected
            )
        except ChangedMeanwhile:
            abort(412, message=STALE_MESSAGE)
        except store.PlanDeleted:
            plan_deleted()
        except store.TimesOutOfOrder:
            times_error(changes)
        if session is None:
            abort(404, message=NOT_FOUND)
        return session

    @blp.response(200, FlightSessionSchema, example=ONE_EXAMPLE)
    def delete(self, deployment_id, flight_session_id):
        """Delete a flight session

        Answers with the deleted session. With `If-Match`, only the version
        that ETag names is deleted (412 otherwise).
        """
        identity = auth.current()
        expected = blp.check_if_match(
            lambda: get_or_404(identity.company_id, deployment_id, flight_session_id),
            FlightSessionSchema,
        )
        try:
            session = store.delete_session(
                identity.company_id, deployment_id, flight_session_id, expected
            )
        except ChangedMeanwhile:
            abort(412, message=STALE_MESSAGE)
        if session is None:
            abort(404, message=NOT_FOUND)
        return session
