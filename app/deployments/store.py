"""Deployment storage: the `deployments` collection, one document each.

Every function takes the caller's company first and puts it in the filter,
so another company's deployment is simply not found (None).
"""

from pymongo import ReturnDocument

from app import db
from app.clock import now_ms
from app.fields import new_id
from app.preconditions import ChangedMeanwhile, all_of, differs, unchanged

# Deployment reads never carry the embedded sessions.
WITHOUT_SESSIONS = {"flight_sessions": 0}

LIST_DEFAULTS = ("purpose", "drones", "batteries", "cameras", "personnel")
# What a client can change, and so what an If-Match version is made of.
WRITABLE = (
    "name",
    "project_id",
    "purpose",
    "drones",
    "batteries",
    "cameras",
    "personnel",
    "deployment_lead_id",
    "deployment_area",
    "start_date",
    "end_date",
    "status",
)


class DatesOutOfOrder(Exception):
    """A one-sided change of start_date or end_date would invert the range."""


def list_deployments(company_id, skip, limit):
    query = {"company_id": company_id}
    cursor = db.deployments().find(
        query,
        WITHOUT_SESSIONS,
        sort=[("created_at", 1), ("_id", 1)],
        skip=skip,
        limit=limit,
    )
    return list(cursor), db.deployments().count_documents(query)


def find_deployment(company_id, deployment_id):
    return db.deployments().find_one(
        {"_id": deployment_id, "company_id": company_id}, WITHOUT_SESSIONS
    )


def insert_deployment(company_id, fields):
    doc = {name: [] for name in LIST_DEFAULTS}
    doc.update(status="new")
    doc.update(fields)
    doc.update(
        _id=new_id(), company_id=company_id, created_at=now_ms(), flight_sessions=[]
    )
    db.deployments().insert_one(doc)
    doc.pop("flight_sessions")
    return doc


def _dates_guard(changes):
    """Filter that keeps start_date <= end_date when only one side changes."""
    if "start_date" in changes and "end_date" not in changes:
        return {
            "$or": [
                {"end_date": {"$exists": False}},
                {"end_date": {"$gte": changes["start_date"]}},
            ]
        }
    if "end_date" in changes and "start_date" not in changes:
        return {
            "$or": [
                {"start_date": {"$exists": False}},
                {"start_date": {"$lte": changes["end_date"]}},
            ]
        }
    return {}


def update_deployment(company_id, deployment_id, changes, expected=None):
    """The updated deployment; None if not found; DatesOutOfOrder if refused.

    With `expected` (the version an If-Match named), the write also requires
    the stored fields to still equal it, else ChangedMeanwhile.
    """
    if not changes:
        return find_deployment(company_id, deployment_id)
    query = {"_id": deployment_id, "company_id": company_id, **_dates_guard(changes)}
    if expected is not None:
        query = all_of(query, unchanged(expected, WRITABLE))
    updated = db.deployments().find_one_and_update(
        query,
        {"$set": changes},
        projection=WITHOUT_SESSIONS,
        return_document=ReturnDocument.AFTER,
    )
    if updated is not None:
        return updated
    current = find_deployment(company_id, deployment_id)
    if current is None:
        return None
    if expected is not None and differs(current, expected, WRITABLE):
        raise ChangedMeanwhile()
    raise DatesOutOfOrder()


def count_sessions(company_id, deployment_id):
    result = list(
        db.deployments().aggregate(
            [
                {"$match": {"_id": deployment_id, "company_id": company_id}},
                {"$project": {"n": {"$size": {"$ifNull": ["$flight_sessions", []]}}}},
            ]
        )
    )
    return result[0]["n"] if result else None


def delete_deployment(company_id, deployment_id, cascade=False, expected=None):
    """The deleted deployment, or None when absent or refused.

    Without cascade, a deployment that holds sessions is not deleted: the
    condition sits in the delete's own filter, so a session added meanwhile
    cannot be lost. With `expected`, neither is one changed since it was
    read. Its flight plans go with it.
    """
    query = {"_id": deployment_id, "company_id": company_id}
    if not cascade:
        query["flight_sessions.0"] = {"$exists": False}
    if expected is not None:
        query = all_of(query, unchanged(expected, WRITABLE))
    deleted = db.deployments().find_one_and_delete(query, projection=WITHOUT_SESSIONS)
    if deleted is not None:
        db.flight_plans().delete_many(
            {"company_id": company_id, "deployment_id": deployment_id}
        )
    return deleted
