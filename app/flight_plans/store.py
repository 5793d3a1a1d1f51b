"""Flight plan storage: the `flight_plans` collection, one document each.

Every function takes the caller's company first and puts it in the filter.
"""

from pymongo import ReturnDocument

from app import db
from app.clock import now_ms
from app.fields import new_id
from app.preconditions import all_of, unchanged


class ChangedMeanwhile(Exception):
    """The plan's status changed between our read and our write."""


# What an If-Match version of a plan is made of: everything a client reads
# that can change.
VERSIONED = (
    "description",
    "plan_type",
    "drones",
    "plan",
    "status",
    "last_modified_date",
    "last_modified_by",
)


def list_plans(company_id, deployment_id, skip, limit):
    query = {"company_id": company_id}
    if deployment_id is not None:
        query["deployment_id"] = deployment_id
    cursor = db.flight_plans().find(
        query, sort=[("created_at", 1), ("_id", 1)], skip=skip, limit=limit
    )
    return list(cursor), db.flight_plans().count_documents(query)


def find_plan(company_id, flight_plan_id):
    return db.flight_plans().find_one({"_id": flight_plan_id, "company_id": company_id})


def find_approved_plan(company_id, deployment_id, flight_plan_id):
    """The plan if it is approved and belongs to that deployment, else None."""
    return db.flight_plans().find_one(
        {
            "_id": flight_plan_id,
            "company_id": company_id,
            "deployment_id": deployment_id,
            "status": "approved",
        },
        {"_id": 1},
    )


def insert_plan(company_id, user_id, fields):
    now = now_ms()
    doc = {"plan_type": "ardupilot", "drones": []}
    doc.update(fields)
    doc.update(
        _id=new_id(),
        company_id=company_id,
        status="draft",
        created_at=now,
        last_modified_date=now,
        last_modified_by=user_id,
    )
    db.flight_plans().insert_one(doc)
    return doc


def update_plan(company_id, user_id, plan, changes, new_status, expected=None):
    """Write `changes` if the plan's status is still what was read.

    Comparing the status in the filter keeps a concurrent approval from
    being overwritten by a content change computed from the older status.
    With `expected` (the version an If-Match named) every versioned field
    must still be as read.
    """
    stamped = {
        **changes,
        "status": new_status,
        "last_modified_date": now_ms(),
        "last_modified_by": user_id,
    }
    query = {"_id": plan["_id"], "company_id": company_id, "status": plan["status"]}
    if expected is not None:
        query = all_of(query, unchanged(expected, VERSIONED))
    result = db.flight_plans().find_one_and_update(
        query,
        {"$set": stamped},
        return_document=ReturnDocument.AFTER,
    )
    if result is None:
        raise ChangedMeanwhile()
    return result


def delete_plan(company_id, flight_plan_id, expected=None):
    """The deleted plan; None if absent or, with `expected`, changed since."""
    query = {"_id": flight_plan_id, "company_id": company_id}
    if expected is not None:
        query = all_of(query, unchanged(expected, VERSIONED))
    return db.flight_plans().find_one_and_delete(query)
