"""Pins the embedded store's behaviours that the service relies on.

Each query shape the stores use is checked here against mongomock, so an
upgrade that changes one shows up as a failure with its name.
"""

import threading

import mongomock
import pytest

from app import db
from app.db import _SerializedClient


@pytest.fixture
def deployments():
    collection = mongomock.MongoClient().db.deployments
    collection.insert_one(
        {
            "_id": "d1",
            "company_id": "A",
            "flight_sessions": [
                {"flight_session_id": "s1", "start_date_time": 1, "end_date_time": 5},
                {"flight_session_id": "s2", "start_date_time": 2, "end_date_time": 9},
            ],
        }
    )
    return collection


def test_elem_match_projection_returns_only_the_matched_element(deployments):
    doc = deployments.find_one(
        {"_id": "d1"}, {"flight_sessions": {"$elemMatch": {"flight_session_id": "s2"}}}
    )
    assert [e["flight_session_id"] for e in doc["flight_sessions"]] == ["s2"]


def test_update_one_positional_changes_the_matched_element(deployments):
    result = deployments.update_one(
        {"_id": "d1", "flight_sessions": {"$elemMatch": {"flight_session_id": "s2"}}},
        {"$set": {"flight_sessions.$.end_date_time": 99}},
    )
    assert result.matched_count == 1
    elements = deployments.find_one({"_id": "d1"})["flight_sessions"]
    assert [e["end_date_time"] for e in elements] == [5, 99]


def test_elem_match_filter_guards_an_update(deployments):
    result = deployments.update_one(
        {
            "_id": "d1",
            "flight_sessions": {
                "$elemMatch": {"flight_session_id": "s1", "end_date_time": {"$gte": 6}}
            },
        },
        {"$set": {"flight_sessions.$.start_date_time": 6}},
    )
    assert result.matched_count == 0


def test_array_index_exists_bounds_the_array_size(deployments):
    assert deployments.count_documents({"flight_sessions.1": {"$exists": False}}) == 0
    assert deployments.count_documents({"flight_sessions.2": {"$exists": False}}) == 1


def test_pull_with_before_image_returns_the_removed_element(deployments):
    before = deployments.find_one_and_update(
        {"_id": "d1", "flight_sessions.flight_session_id": "s1"},
        {"$pull": {"flight_sessions": {"flight_session_id": "s1"}}},
        projection={"flight_sessions": {"$elemMatch": {"flight_session_id": "s1"}}},
    )
    assert [e["flight_session_id"] for e in before["flight_sessions"]] == ["s1"]
    left = deployments.find_one({"_id": "d1"})["flight_sessions"]
    assert [e["flight_session_id"] for e in left] == ["s2"]


def test_find_one_and_update_positional_is_still_wrong(deployments):
    """The reason the session PATCH uses update_one: if this starts failing,
    mongomock was fixed and find_one_and_update can save a round trip."""
    deployments.find_one_and_update(
        {"_id": "d1", "flight_sessions.flight_session_id": "s2"},
        {"$set": {"flight_sessions.$.end_date_time": 77}},
    )
    elements = deployments.find_one({"_id": "d1"})["flight_sessions"]
    assert elements[0]["end_date_time"] == 77


def test_serialized_store_keeps_conditional_updates_atomic():
    """A size limit in the filter holds under racing threads."""
    client = _SerializedClient(mongomock.MongoClient())
    collection = client["db"]["deployments"]
    collection.insert_one({"_id": "d1", "flight_sessions": []})
    limit = 50

    def push():
        for i in range(40):
            collection.update_one(
                {"_id": "d1", f"flight_sessions.{limit - 1}": {"$exists": False}},
                {"$push": {"flight_sessions": {"i": i}}},
            )

    threads = [threading.Thread(target=push) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(collection.find_one({"_id": "d1"})["flight_sessions"]) == limit


def test_serialized_find_takes_sort_skip_and_limit():
    client = _SerializedClient(mongomock.MongoClient())
    collection = client["db"]["c"]
    collection.insert_many([{"_id": i, "k": -i} for i in range(10)])
    found = collection.find({}, sort=[("k", 1)], skip=2, limit=3)
    assert [d["_id"] for d in found] == [7, 6, 5]


UNWIND_DOCS = [
    {"_id": 1, "a": "x", "s": [{"k": 1, "n": [1]}, {"k": 2}], "z": {"deep": [1]}},
    {"_id": 2, "s": []},
    {"_id": 3, "s": None},
    {"_id": 4},
    {"_id": 5, "s": "scalar"},
    {"_id": 6, "s": [3], "t": {"s": [7, 8]}},
]
UNWIND_OPTIONS = [
    "$s",
    {"path": "$s"},
    {"path": "$s", "preserveNullAndEmptyArrays": True},
    {"path": "$s", "includeArrayIndex": "i"},
    {"path": "$t.s", "includeArrayIndex": "i"},
]


@pytest.mark.parametrize("options", UNWIND_OPTIONS, ids=repr)
def test_the_linear_unwind_gives_what_mongomock_gives(options):
    import copy

    from mongomock import aggregate

    db._unwind_linearly()
    ours = aggregate._PIPELINE_HANDLERS["$unwind"]
    docs = copy.deepcopy(UNWIND_DOCS)
    expected = ours.replaces(copy.deepcopy(docs), None, options)
    got = ours(docs, None, options)
    assert got == expected
    assert [list(d) for d in got] == [list(d) for d in expected]  # key order
    assert docs == UNWIND_DOCS  # the input is left alone
    if got:
        got[0].setdefault("z", {"deep": []})["deep"].append(99)
        assert docs == UNWIND_DOCS  # and shares nothing with the output


def test_the_embedded_store_unwinds_with_the_linear_stage(app):
    from mongomock import aggregate

    with app.app_context():
        db.deployments().count_documents({})
    assert aggregate._PIPELINE_HANDLERS["$unwind"].replaces is not None
