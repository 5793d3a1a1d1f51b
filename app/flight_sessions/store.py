"""Flight session storage: elements of `deployments.flight_sessions`.

Sessions live inside their deployment's document. Every write is one
atomic update of that one document whose filter names the company, the
deployment and (for an existing session) the session together; no write
reads the array, changes it in Python and writes it back.

A plan being deleted is first barred from its deployment's sessions: an
element of the deployment's `plan_bars`, which every write that names a
plan checks in its own filter. That is what keeps a session from being
created with a plan deleted at the same moment. Each deletion places a bar
of its own and, when it does not go through, lifts only that one, so two
deletions of one plan cannot lift each other's; a deleted plan's bar stays.
"""

from pymongo import ReturnDocument

from app import db
from app.clock import now_ms
from app.fields import new_id
from app.flight_log import store as log_store
from app.preconditions import ChangedMeanwhile, all_of, differs, unchanged

# The five fields a client sees; the rest of an element is for auditing.
PUBLIC_FIELDS = (
    "flight_session_id",
    "flight_plan_id",
    "start_date_time",
    "end_date_time",
)


class DeploymentFull(Exception):
    """The deployment already holds the maximum number of sessions."""


class TimesOutOfOrder(Exception):
    """A one-sided time change would put the end before the start."""


class PlanDeleted(Exception):
    """The flight plan was deleted (or is being deleted) meanwhile."""


class PlanInUse(Exception):
    """A session flies the plan, so it cannot be barred for deletion."""


def _unbarred(flight_plan_id):
    """Filter: no deletion of this plan has begun on the deployment."""
    return {"plan_bars.flight_plan_id": {"$ne": flight_plan_id}}


# What an If-Match version of a session is made of.
VERSIONED = ("flight_plan_id", "start_date_time", "end_date_time")


def _public(element, deployment_id):
    session = {name: element[name] for name in PUBLIC_FIELDS if name in element}
    session["deployment_id"] = deployment_id
    return session


def _only(session_id):
    """Projection of the one matching element, not the whole array."""
    return {"flight_sessions": {"$elemMatch": {"flight_session_id": session_id}}}


def list_sessions(company_id, deployment_id):
    """The deployment's sessions in the order they were created; None if absent."""
    doc = db.deployments().find_one(
        {"_id": deployment_id, "company_id": company_id}, {"flight_sessions": 1}
    )
    if doc is None:
        return None
    return [_public(e, deployment_id) for e in doc.get("flight_sessions", [])]


def find_session(company_id, deployment_id, session_id):
    doc = db.deployments().find_one(
        {
            "_id": deployment_id,
            "company_id": company_id,
            "flight_sessions.flight_session_id": session_id,
        },
        _only(session_id),
    )
    if not doc or not doc.get("flight_sessions"):
        return None
    return _public(doc["flight_sessions"][0], deployment_id)


def _plan_deleted(company_id, deployment_id, flight_plan_id):
    return (
        db.deployments().count_documents(
            {
                "_id": deployment_id,
                "company_id": company_id,
                "plan_bars.flight_plan_id": flight_plan_id,
            },
            limit=1,
        )
        > 0
    )


def insert_session(company_id, user_id, deployment_id, fields, max_sessions):
    """The new session; None if the deployment is absent.

    Raises DeploymentFull, or PlanDeleted when the plan was deleted after
    the caller checked it.
    """
    element = {
        "flight_session_id": new_id(),
        "flight_plan_id": fields["flight_plan_id"],
        "start_date_time": fields["start_date_time"],
        "end_date_time": fields["end_date_time"],
        "created_at": now_ms(),
        "created_by": user_id,
    }
    scope = {"_id": deployment_id, "company_id": company_id}
    # The size limit is part of the update's own filter: the array has no
    # element at index max_sessions - 1, so at most max_sessions - 1 exist.
    result = db.deployments().update_one(
        {
            **scope,
            f"flight_sessions.{max_sessions - 1}": {"$exists": False},
            **_unbarred(element["flight_plan_id"]),
        },
        {"$push": {"flight_sessions": element}},
    )
    if result.matched_count == 1:
        return _public(element, deployment_id)
    if not db.deployments().count_documents(scope, limit=1):
        return None
    if _plan_deleted(company_id, deployment_id, element["flight_plan_id"]):
        raise PlanDeleted()
    raise DeploymentFull()


def _times_guard(changes):
    """Element conditions that keep end >= start when only one time changes."""
    if "start_date_time" in changes and "end_date_time" not in changes:
        return {"end_date_time": {"$gte": changes["start_date_time"]}}
    if "end_date_time" in changes and "start_date_time" not in changes:
        return {"start_date_time": {"$lte": changes["end_date_time"]}}
    return {}


def update_session(company_id, deployment_id, session_id, changes, expected=None):
    """The updated session; None if absent.

    The time rule is checked by the update's own filter against the stored
    element, so two one-sided PATCHes racing each other cannot combine into
    an inverted range (TimesOutOfOrder). With `expected` (the version an
    If-Match named) the element must also still be as read
    (ChangedMeanwhile). A new plan must not have been deleted (PlanDeleted).
    """
    if not changes:
        return find_session(company_id, deployment_id, session_id)
    query = {"_id": deployment_id, "company_id": company_id}
    match = {"flight_session_id": session_id, **_times_guard(changes)}
    if expected is not None:
        match = all_of(match, unchanged(expected, VERSIONED))
    if "flight_plan_id" in changes:
        query.update(_unbarred(changes["flight_plan_id"]))
    selector = {**query, "flight_sessions": {"$elemMatch": match}}
    change = {"$set": {f"flight_sessions.$.{k}": v for k, v in changes.items()}}
    if db.handle().positional_find_and_modify:
        # One round trip: the update answers with the changed element.
        after = db.deployments().find_one_and_update(
            selector,
            change,
            projection=_only(session_id),
            return_document=ReturnDocument.AFTER,
        )
        if after and after.get("flight_sessions"):
            return _public(after["flight_sessions"][0], deployment_id)
        matched = False
    else:
        # mongomock 4.3 applies find_one_and_update's positional $ to the
        # first array element (see db.Database), so update_one, then a
        # second round trip to read the session back.
        matched = db.deployments().update_one(selector, change).matched_count == 1
    # Read to tell why nothing matched, or (embedded store) to read back.
    current = find_session(company_id, deployment_id, session_id)
    if matched or current is None:
        return current
    if expected is not None and differs(current, expected, VERSIONED):
        raise ChangedMeanwhile()
    if "flight_plan_id" in changes and _plan_deleted(
        company_id, deployment_id, changes["flight_plan_id"]
    ):
        raise PlanDeleted()
    raise TimesOutOfOrder()


def delete_session(company_id, deployment_id, session_id, expected=None):
    """The deleted session, or None if absent.

    With `expected`, only while the element is still as read, else
    ChangedMeanwhile.
    """
    match = {"flight_session_id": session_id}
    if expected is not None:
        match = all_of(match, unchanged(expected, VERSIONED))
    before = db.deployments().find_one_and_update(
        {
            "_id": deployment_id,
            "company_id": company_id,
            "flight_sessions": {"$elemMatch": match},
        },
        {"$pull": {"flight_sessions": {"flight_session_id": session_id}}},
        projection=_only(session_id),
        return_document=ReturnDocument.BEFORE,
    )
    if before and before.get("flight_sessions"):
        return _public(before["flight_sessions"][0], deployment_id)
    if expected is not None and find_session(company_id, deployment_id, session_id):
        raise ChangedMeanwhile()
    return None


def count_sessions_of_plan(company_id, deployment_id, flight_plan_id):
    """How many sessions of the deployment fly this plan."""
    result = list(
        db.deployments().aggregate(
            [
                {"$match": {"_id": deployment_id, "company_id": company_id}},
                {"$unwind": "$flight_sessions"},
                {"$match": {"flight_sessions.flight_plan_id": flight_plan_id}},
                {"$count": "n"},
            ]
        )
    )
    return result[0]["n"] if result else 0


def list_matching_sessions(company_id, deployment_id, filters, sort=None):
    """The deployment's sessions that pass the filters; None if absent.

    In creation order unless `sort` is given. The one document is read as
    for the plain list and filtered here: the same single round trip, and
    no $unwind, which mongomock 4.3 pays for by copying the whole document
    once per session.
    """
    sessions = list_sessions(company_id, deployment_id)
    if sessions is None:
        return None
    kept = [s for s in sessions if log_store.keeps(s, filters)]
    if sort is not None:
        log_store.sort_in_place(kept, sort)
    return kept


def bar_plan(company_id, deployment_id, flight_plan_id):
    """Bar a plan from the deployment's sessions, unless one flies it already.

    One atomic update of the deployment: either a session already names
    the plan (PlanInUse, nothing changes) or a bar of this call's own joins
    `plan_bars`, after which no session write can name the plan. Returns
    the bar's ID for lift_bar; None when the deployment is gone, since no
    session can then name the plan.
    """
    bar_id = new_id()
    result = db.deployments().update_one(
        {
            "_id": deployment_id,
            "company_id": company_id,
            "flight_sessions.flight_plan_id": {"$ne": flight_plan_id},
        },
        {
            "$push": {
                "plan_bars": {
                    "flight_plan_id": flight_plan_id,
                    "bar_id": bar_id,
                    "at": now_ms(),
                }
            }
        },
    )
    if result.matched_count == 1:
        return bar_id
    if db.deployments().count_documents(
        {"_id": deployment_id, "company_id": company_id}, limit=1
    ):
        raise PlanInUse()
    return None


def lift_bar(company_id, deployment_id, bar_id):
    """Undo bar_plan for a deletion that did not go through; other
    deletions' bars of the same plan stay."""
    if bar_id is None:
        return
    db.deployments().update_one(
        {"_id": deployment_id, "company_id": company_id},
        {"$pull": {"plan_bars": {"bar_id": bar_id}}},
    )
