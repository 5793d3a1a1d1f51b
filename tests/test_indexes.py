"""`flask indexes create`: every index the queries need, idempotently."""

import datetime

import pytest
from pymongo import IndexModel
from pymongo.errors import DuplicateKeyError

from app import db

IDEMPOTENCY = {
    "idempotency_keys": [
        IndexModel(
            [("created_at", 1)], name="expire_after_a_day", expireAfterSeconds=86_400
        ),
        IndexModel([("company_id", 1), ("key", 1)], unique=True),
    ]
}


def declared_keys():
    keys = set()
    for collection, specs in db.INDEXES.items():
        for spec in db._models(specs):
            keys.add((collection, tuple(spec.document["key"].items())))
    return keys


def held_indexes(app):
    with app.app_context():
        return {(c, n): (tuple(k), o) for c, n, k, o in db.describe_indexes()}


def test_create_twice_then_list(app):
    runner = app.test_cli_runner()

    first = runner.invoke(args=["indexes", "create"])
    second = runner.invoke(args=["indexes", "create"])
    listed = runner.invoke(args=["indexes", "list"])

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert first.output == second.output
    assert len(first.stdout.splitlines()) == len(declared_keys())
    assert listed.exit_code == 0, listed.output
    assert (
        "deployments: company_id_1_flight_sessions.flight_plan_id_1 " in listed.output
    )
    held = {(c, keys) for (c, _), (keys, _) in held_indexes(app).items()}
    assert declared_keys() <= held


@pytest.mark.parametrize(
    ("collection", "keys"),
    [
        # Company scoping and the list order of each resource.
        ("deployments", (("company_id", 1), ("created_at", 1), ("_id", 1))),
        ("flight_plans", (("company_id", 1), ("created_at", 1), ("_id", 1))),
        # Plans of one deployment.
        (
            "flight_plans",
            (("company_id", 1), ("deployment_id", 1), ("created_at", 1), ("_id", 1)),
        ),
        # Sessions by plan, and by time, across a company's deployments.
        ("deployments", (("company_id", 1), ("flight_sessions.flight_plan_id", 1))),
        ("deployments", (("company_id", 1), ("flight_sessions.start_date_time", 1))),
    ],
)
def test_the_queries_have_their_index(collection, keys):
    assert (collection, keys) in declared_keys()


def test_options_are_carried_and_kept(app, monkeypatch):
    monkeypatch.setattr(db, "INDEXES", {**db.INDEXES, **IDEMPOTENCY})

    with app.app_context():
        db.ensure_indexes()
        created = db.ensure_indexes()
        keys = db.get_db()["idempotency_keys"]
        keys.insert_one({"company_id": "a", "key": "k1", "created_at": _now()})
        with pytest.raises(DuplicateKeyError):
            keys.insert_one({"company_id": "a", "key": "k1", "created_at": _now()})

    assert ("idempotency_keys", "expire_after_a_day") in created
    held = held_indexes(app)
    assert held["idempotency_keys", "expire_after_a_day"][1]["expireAfterSeconds"] == (
        86_400
    )
    assert held["idempotency_keys", "company_id_1_key_1"][1]["unique"] is True


def test_a_changed_option_is_reported_not_replaced(app, monkeypatch):
    monkeypatch.setattr(db, "INDEXES", IDEMPOTENCY)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["indexes", "create"]).exit_code == 0

    changed = IndexModel(
        [("created_at", 1)], name="expire_after_a_day", expireAfterSeconds=3_600
    )
    monkeypatch.setattr(db, "INDEXES", {"idempotency_keys": [changed]})
    result = runner.invoke(args=["indexes", "create"])

    assert result.exit_code == 1
    assert "idempotency_keys" in result.output and "collMod" in result.output
    assert "Traceback" not in result.output
    held = held_indexes(app)
    assert held["idempotency_keys", "expire_after_a_day"][1]["expireAfterSeconds"] == (
        86_400
    )


def _now():
    return datetime.datetime.now(datetime.UTC)
