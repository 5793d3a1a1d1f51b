"""Flight log routes: the company's sessions across deployments, and summaries."""

from flask.views import MethodView
from flask_smorest import abort

from app import auth
from app.envelope import Blueprint
from app.flight_log import export, store
from app.flight_log.schemas import (
    CompanySummarySchema,
    DeploymentSummaryArgsSchema,
    DeploymentSummarySchema,
    SessionLogArgsSchema,
    SummaryArgsSchema,
)
from app.flight_sessions import store as sessions_store
from app.flight_sessions.schemas import FlightSessionSchema

blp = Blueprint(
    "flight_log",
    __name__,
    url_prefix="/flight",
    description="The company's flight log: every session across deployments, "
    "filtered, paged, summed up, or exported as CSV.",
)

DEPLOYMENT_NOT_FOUND = "Deployment not found."

SESSIONS_CSV = export.documented(
    "With `Accept: text/csv`: one row per session, the whole filtered log "
    "(no pages). Times as epoch ms with an ISO 8601 UTC twin column."
)
SUMMARY_CSV = export.documented(
    "With `Accept: text/csv`: one row per group, or one row of totals "
    "without group_by. Times as epoch ms with an ISO 8601 UTC twin column."
)


def export_sessions(args):
    """The CSV twin of CompanySessions.get: the whole filtered log."""
    identity = auth.current()
    export.refuse_pager_parameters()
    records = store.iter_sessions(identity.company_id, args, args["sort"])
    return export.csv_response(records, export.SESSION_COLUMNS, "flight-log.csv")


@blp.route("/sessions")
class CompanySessions(MethodView):
    @blp.arguments(SessionLogArgsSchema, location="query")
    @blp.response(200, FlightSessionSchema(many=True))
    @blp.doc(**SESSIONS_CSV)
    @export.csv_instead(export_sessions)
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """List the company's flight sessions

        Every session of every deployment of the caller's company, each
        with its `deployment_id`. Filters: `deployment_id`, `flight_plan_id`,
        and a time window `from`/`to` (epoch ms, both optional and
        inclusive) that keeps the sessions overlapping it: start <= `to` and
        end >= `from`. Oldest start first, or newest first with
        `sort=-start_date_time`. Pages count sessions; the totals are in the
        `X-Pagination` header. Another company's `deployment_id` gives the
        same empty list as one that does not exist. Unknown query
        parameters are refused.

        With `Accept: text/csv` the answer is the whole filtered log as CSV,
        in the same order; `page` and `page_size` are then refused.
        """
        identity = auth.current()
        items, total = store.list_sessions(
            identity.company_id,
            args,
            args["sort"],
            pagination_parameters.first_item,
            pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return items


@blp.route("/sessions/summary")
class CompanySummary(MethodView):
    @blp.arguments(SummaryArgsSchema, location="query")
    @blp.response(200, CompanySummarySchema)
    @blp.doc(**SUMMARY_CSV)
    def get(self, args):
        """Sum up the company's flight sessions

        Counts and flight time over the sessions that the same filters as
        the list keep (`deployment_id`, `flight_plan_id`, `from`, `to`).
        A session overlapping the window counts whole. With
        `group_by=deployment` or `group_by=flight_plan`, `groups` also gives
        the figures of each deployment or plan that has counted sessions,
        earliest first. With nothing counted: `session_count` and
        `total_flight_time_ms` are 0, the first and last times null.

        With `Accept: text/csv`: one row per group, or one row of totals.
        """
        identity = auth.current()
        group_by = args.get("group_by")
        totals, groups = store.summarize(identity.company_id, args, group_by)

        if export.wants_csv():
            if groups is None:
                return export.csv_response(
                    [totals], export.STATS_COLUMNS, "flight-log-summary.csv"
                )
            columns = (store.GROUP_KEYS[group_by], *export.STATS_COLUMNS)
            filename = f"flight-log-summary-by-{group_by.replace('_', '-')}.csv"
            return export.csv_response(groups, columns, filename)
        if groups is None:
            return totals
        return {**totals, "group_by": group_by, "groups": groups}


@blp.route("/deployments/<id:deployment_id>/sessions/summary")
class DeploymentSummary(MethodView):
    @blp.arguments(DeploymentSummaryArgsSchema, location="query")
    @blp.response(200, DeploymentSummarySchema)
    @blp.doc(**SUMMARY_CSV)
    def get(self, args, deployment_id):
        """Sum up a deployment's flight sessions

        The same figures as the company summary, over one deployment of
        the caller's company, with the optional `flight_plan_id`, `from` and
        `to` filters. A deployment with no sessions (or none in the window)
        gives 0, 0, null, null. With `Accept: text/csv`: one row.
        """
        identity = auth.current()
        sessions = sessions_store.list_matching_sessions(
            identity.company_id, deployment_id, args
        )
        if sessions is None:
            abort(404, message=DEPLOYMENT_NOT_FOUND)
        summary = {"deployment_id": deployment_id, **store.figures(sessions)}

        if export.wants_csv():
            columns = ("deployment_id", *export.STATS_COLUMNS)
            filename = f"flight-sessions-summary-{deployment_id}.csv"
            return export.csv_response([summary], columns, filename)
        return summary
