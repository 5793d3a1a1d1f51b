"""Flight log queries: sessions read across the `deployments` collection.

Sessions are elements of `deployments.flight_sessions`. Every company-wide
query unwinds them first, so filtering, sorting, counting and paging apply
to sessions, never to deployments, and every one is scoped by company.
Views of one deployment read its one document instead and use the twins
`keeps`, `sort_in_place` and `figures`, which must agree with the stages.
Nothing here writes.
"""

from app import db

# Before unwinding, drop what no later stage reads (a deployment's area may
# be large). MongoDB prunes by itself; mongomock copies the whole document
# once per session.
SESSIONS_ONLY = {
    "$project": {
        f"flight_sessions.{name}": 1
        for name in (
            "flight_session_id",
            "flight_plan_id",
            "start_date_time",
            "end_date_time",
        )
    }
}

# One session as a flat document: the shape every later stage works on.
FLAT_SESSION = {
    "$project": {
        "_id": 0,
        "flight_session_id": "$flight_sessions.flight_session_id",
        "flight_plan_id": "$flight_sessions.flight_plan_id",
        "deployment_id": "$_id",
        "start_date_time": "$flight_sessions.start_date_time",
        "end_date_time": "$flight_sessions.end_date_time",
    }
}

STATS = {
    "session_count": {"$sum": 1},
    "total_flight_time_ms": {
        "$sum": {"$subtract": ["$end_date_time", "$start_date_time"]}
    },
    "first_start_date_time": {"$min": "$start_date_time"},
    "last_end_date_time": {"$max": "$end_date_time"},
}

GROUP_KEYS = {"deployment": "deployment_id", "flight_plan": "flight_plan_id"}

# A sort over a whole company's log may pass the server's 100 MB in-memory
# limit for one stage; it spills to disk instead of failing the request.
AGGREGATE_OPTIONS = {"allowDiskUse": True}
EXPORT_BATCH_SIZE = 1000


def _aggregate(pipeline, **options):
    return db.deployments().aggregate(pipeline, **AGGREGATE_OPTIONS, **options)


def element_conditions(filters):
    """Conditions on one session element: its plan and the time window."""
    conditions = {}
    if filters.get("flight_plan_id") is not None:
        conditions["flight_plan_id"] = filters["flight_plan_id"]
    # Overlap: the session starts by the window's end and ends after its start.
    if filters.get("window_to") is not None:
        conditions["start_date_time"] = {"$lte": filters["window_to"]}
    if filters.get("window_from") is not None:
        conditions["end_date_time"] = {"$gte": filters["window_from"]}
    return conditions


def keeps(session, filters):
    """The same conditions as element_conditions, for a session in hand."""
    conditions = (
        ("flight_plan_id", lambda s, v: s["flight_plan_id"] == v),
        ("window_to", lambda s, v: s["start_date_time"] <= v),
        ("window_from", lambda s, v: s["end_date_time"] >= v),
    )
    return all(
        test(session, filters[name])
        for name, test in conditions
        if filters.get(name) is not None
    )


def session_stages(filters):
    """From deployment documents to their matching sessions, flat."""
    stages = [SESSIONS_ONLY, {"$unwind": "$flight_sessions"}]
    conditions = element_conditions(filters)
    if conditions:
        stages.append(
            {"$match": {f"flight_sessions.{k}": v for k, v in conditions.items()}}
        )
    stages.append(FLAT_SESSION)
    return stages


def sort_stage(sort):
    """`start_date_time` or `-start_date_time`, ties broken by session ID.

    The tie-break makes the order total, so that walking the pages yields
    every session exactly once; descending is the exact reverse.
    """
    direction = -1 if sort.startswith("-") else 1
    return {"$sort": {"start_date_time": direction, "flight_session_id": direction}}


def sort_in_place(sessions, sort):
    """The order of sort_stage, for sessions in hand."""
    sessions.sort(
        key=lambda s: (s["start_date_time"], s["flight_session_id"]),
        reverse=sort.startswith("-"),
    )


def _company_match(company_id, filters):
    """The company's deployments holding at least one matching session.

    The $elemMatch repeats the element conditions so that the server can
    narrow the deployments through the multikey indexes before unwinding.
    """
    match = {"company_id": company_id}
    if filters.get("deployment_id") is not None:
        match["_id"] = filters["deployment_id"]
    conditions = element_conditions(filters)
    if conditions:
        match["flight_sessions"] = {"$elemMatch": conditions}
    return {"$match": match}


def _count(facet_counts):
    # $count emits no document for an empty input on MongoDB; mongomock 4.3
    # emits {"n": 0}. Both read as zero here.
    return facet_counts[0]["n"] if facet_counts else 0


def list_sessions(company_id, filters, sort, skip, limit):
    """One page of the company's matching sessions, and how many match in all.

    One round trip: the $facet pages and counts the same unwound sessions.
    """
    pipeline = [
        _company_match(company_id, filters),
        *session_stages(filters),
        {
            "$facet": {
                "items": [sort_stage(sort), {"$skip": skip}, {"$limit": limit}],
                "total": [{"$count": "n"}],
            }
        },
    ]
    [result] = _aggregate(pipeline)
    return result["items"], _count(result["total"])


def iter_sessions(company_id, filters, sort):
    """Every matching session, in order, to be read one by one.

    On MongoDB this is a cursor fetched in batches, so an export never
    holds the whole log; the embedded store hands back a list.
    """
    pipeline = [
        _company_match(company_id, filters),
        *session_stages(filters),
        sort_stage(sort),
    ]
    return _aggregate(pipeline, batchSize=EXPORT_BATCH_SIZE)


def empty_stats():
    """The figures of no sessions at all."""
    return {
        "session_count": 0,
        "total_flight_time_ms": 0,
        "first_start_date_time": None,
        "last_end_date_time": None,
    }


def _stats(doc):
    return {name: doc[name] for name in STATS}


def _counted(groups):
    # On an empty input MongoDB's $group emits nothing, while mongomock 4.3
    # emits a group of count 0; only groups that counted a session are real.
    return [group for group in groups if group["session_count"]]


def combine(groups):
    """Company-wide figures out of per-group figures."""
    if not groups:
        return empty_stats()
    return {
        "session_count": sum(g["session_count"] for g in groups),
        "total_flight_time_ms": sum(g["total_flight_time_ms"] for g in groups),
        "first_start_date_time": min(g["first_start_date_time"] for g in groups),
        "last_end_date_time": max(g["last_end_date_time"] for g in groups),
    }


def summarize(company_id, filters, group_by=None):
    """(totals, groups) over the matching sessions; groups is None ungrouped.

    Each group carries its key (`deployment_id` or `flight_plan_id`), and
    the groups come earliest first. Totals are added up from the groups,
    so that both take one round trip.
    """
    key = GROUP_KEYS.get(group_by)
    pipeline = [
        _company_match(company_id, filters),
        *session_stages(filters),
        {"$group": {"_id": f"${key}" if key else None, **STATS}},
        {"$sort": {"first_start_date_time": 1, "_id": 1}},
    ]
    found = _counted(_aggregate(pipeline))
    if key is None:
        return (_stats(found[0]) if found else empty_stats()), None
    groups = [{key: doc["_id"], **_stats(doc)} for doc in found]
    return combine(groups), groups


def figures(sessions):
    """The STATS of sessions in hand: those of one deployment's document."""
    if not sessions:
        return empty_stats()
    return {
        "session_count": len(sessions),
        "total_flight_time_ms": sum(
            s["end_date_time"] - s["start_date_time"] for s in sessions
        ),
        "first_start_date_time": min(s["start_date_time"] for s in sessions),
        "last_end_date_time": max(s["end_date_time"] for s in sessions),
    }
