"""The flight log's store: the embedded-store behaviour its queries rely on,
and the functions that read MongoDB's and mongomock's answers alike."""

import os

import pytest

from app import db
from app.flight_log import store

embedded_only = pytest.mark.skipif(
    bool(os.environ.get("MONGODB_URI")),
    reason="pins a behaviour of the embedded store (mongomock 4.3)",
)

ELEMENTS = [
    {"flight_session_id": "c", "flight_plan_id": "p", "start_date_time": 30,
     "end_date_time": 35, "created_by": "u"},
    {"flight_session_id": "a", "flight_plan_id": "q", "start_date_time": 10,
     "end_date_time": 50, "created_by": "u"},
    {"flight_session_id": "b", "flight_plan_id": "p", "start_date_time": 30,
     "end_date_time": 31, "created_by": "u"},
]  # fmt: skip


@pytest.fixture
def deployments(app):
    with app.app_context():
        collection = db.deployments()
        collection.insert_many(
            [
                {"_id": "d1", "company_id": "A", "flight_sessions": ELEMENTS},
                {"_id": "d2", "company_id": "A", "flight_sessions": []},
                {"_id": "d3", "company_id": "B", "flight_sessions": ELEMENTS[:1]},
            ]
        )
        yield collection


def run(collection, pipeline):
    return list(collection.aggregate(pipeline, allowDiskUse=True, batchSize=10))


def test_unwind_keeps_array_order_and_projects_flat_sessions(deployments):
    sessions = run(
        deployments,
        [{"$match": {"_id": "d1"}}, *store.session_stages({})],
    )

    assert [s["flight_session_id"] for s in sessions] == ["c", "a", "b"]
    assert sessions[0] == {
        "flight_session_id": "c",
        "flight_plan_id": "p",
        "deployment_id": "d1",
        "start_date_time": 30,
        "end_date_time": 35,
    }


def test_facet_sorts_with_the_tie_break_then_skips_limits_and_counts(deployments):
    [result] = run(
        deployments,
        [
            {"$match": {"company_id": "A"}},
            *store.session_stages({}),
            {
                "$facet": {
                    "items": [
                        store.sort_stage("-start_date_time"),
                        {"$skip": 1},
                        {"$limit": 5},
                    ],
                    "total": [{"$count": "n"}],
                }
            },
        ],
    )

    assert [s["flight_session_id"] for s in result["items"]] == ["b", "a"]
    assert result["total"] == [{"n": 3}]


def test_elem_match_selects_deployments_by_one_element(deployments):
    conditions = store.element_conditions({"flight_plan_id": "q", "window_to": 20})

    found = deployments.find(
        {"company_id": "A", "flight_sessions": {"$elemMatch": conditions}}
    )

    assert [d["_id"] for d in found] == ["d1"]


def test_group_adds_up_differences_and_keeps_integers(deployments):
    [group] = run(
        deployments,
        [
            {"$match": {"_id": "d1"}},
            *store.session_stages({}),
            {"$group": {"_id": None, **store.STATS}},
        ],
    )

    assert store.figures(ELEMENTS) == {k: group[k] for k in store.STATS}
    # An int, or bson.Int64 (an int subclass) when read from MongoDB.
    assert isinstance(group["total_flight_time_ms"], int)


@embedded_only
def test_mongomock_counts_an_empty_input_as_zero(deployments):
    # MongoDB emits no document here; store._count reads both as 0.
    [result] = run(
        deployments,
        [{"$match": {"_id": "none"}}, {"$facet": {"total": [{"$count": "n"}]}}],
    )

    assert result["total"] == [{"n": 0}]


@embedded_only
def test_mongomock_groups_an_empty_input_into_a_zero_group(deployments):
    # MongoDB emits no group here; store._counted drops it.
    groups = run(
        deployments,
        [
            {"$match": {"_id": "d2"}},
            *store.session_stages({}),
            {"$group": {"_id": None, **store.STATS}},
        ],
    )

    assert [g["session_count"] for g in groups] == [0]


@pytest.mark.parametrize("shape, count", [([], 0), ([{"n": 0}], 0), ([{"n": 7}], 7)])
def test_count_reads_either_store(shape, count):
    assert store._count(shape) == count


def test_counted_drops_the_zero_group_of_an_empty_input():
    zero = {"_id": None, **store.empty_stats()}
    real = {"_id": "d1", **store.figures(ELEMENTS)}

    assert store._counted([zero]) == []
    assert store._counted([real]) == [real]


def test_keeps_agrees_with_the_query_conditions(deployments):
    filters = {"flight_plan_id": "p", "window_from": 33, "window_to": 40}

    by_query = run(
        deployments,
        [{"$match": {"_id": "d1"}}, *store.session_stages(filters)],
    )
    by_hand = [e for e in ELEMENTS if store.keeps(e, filters)]

    assert [s["flight_session_id"] for s in by_query] == ["c"]
    assert [e["flight_session_id"] for e in by_hand] == ["c"]


def test_combine_of_groups_equals_figures_of_all(deployments):
    groups = [store.figures(ELEMENTS[:1]), store.figures(ELEMENTS[1:])]

    assert store.combine(groups) == store.figures(ELEMENTS)
    assert store.combine([]) == store.empty_stats()
