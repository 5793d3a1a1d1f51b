"""Idempotency-Key: a retried POST answers as the first did and creates nothing new."""

import datetime
import threading

import pytest
from pymongo.errors import AutoReconnect

from app import db, idempotency
from app.deployments import store as deployments_store
from app.flight_plans import store as plans_store
from app.flight_sessions import store as sessions_store
from app.idempotency import HEADER
from tests.conftest import COMPANY_A, COMPANY_B, T0, T1, Caller, error, ok

KINDS = ["deployment", "plan", "session"]


@pytest.fixture
def target(app, factory):
    """For a kind: its POST URL, a valid body, and how many of it are stored."""
    dep, plan, _ = factory.flying(sessions=0)

    def count(kind):
        with app.app_context():
            if kind == "deployment":
                return db.deployments().count_documents({})
            if kind == "plan":
                return db.flight_plans().count_documents({})
            doc = db.deployments().find_one({"_id": dep})
            return len(doc["flight_sessions"])

    def make(kind):
        if kind == "deployment":
            url, body = "/flight/deployments", {"name": "Retried site"}
        elif kind == "plan":
            url, body = "/flight/plans", {"deployment_id": dep, "description": "r"}
        else:
            url = f"/flight/deployments/{dep}/sessions"
            body = {"flight_plan_id": plan, "start_date_time": T0, "end_date_time": T1}
        return url, body, lambda: count(kind)

    make.deployment_id, make.plan_id = dep, plan
    return make


def keyed(key):
    return {HEADER: key}


@pytest.mark.parametrize("kind", KINDS)
def test_retry_with_same_key_and_body_replays_and_creates_nothing(as_, target, kind):
    url, body, count = target(kind)
    before = count()
    caller = as_("pilot")

    first = caller.post(url, body, headers=keyed("k-1"))
    again = caller.post(url, body, headers=keyed("k-1"))

    ok(first)
    assert again.status_code == first.status_code
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert count() == before + 1


@pytest.mark.parametrize("kind", KINDS)
def test_without_a_key_each_post_creates(as_, target, kind):
    url, body, count = target(kind)
    before = count()
    ok(as_("pilot").post(url, body))
    ok(as_("pilot").post(url, body))
    assert count() == before + 2


@pytest.mark.parametrize("kind", KINDS)
def test_same_key_with_another_body_is_refused_with_422(as_, target, kind):
    url, body, count = target(kind)
    caller = as_("pilot")
    ok(caller.post(url, body, headers=keyed("k-2")))
    before = count()

    changed = dict(body)
    if kind == "session":
        changed["end_date_time"] = T1 + 1
    else:
        changed["description" if kind == "plan" else "name"] = "other"
    err = error(caller.post(url, changed, headers=keyed("k-2")), 422)

    assert HEADER in err["errors"]
    assert count() == before


def test_same_key_on_another_route_is_refused(as_, target):
    dep_url, dep_body, dep_count = target("deployment")
    plan_url, plan_body, plan_count = target("plan")
    caller = as_("pilot")
    ok(caller.post(dep_url, dep_body, headers=keyed("k-3")))
    plans_before = plan_count()

    error(caller.post(plan_url, plan_body, headers=keyed("k-3")), 422)
    assert plan_count() == plans_before


def test_keys_are_scoped_to_the_company(as_, factory):
    body = {"name": "Same key, two companies"}
    a = ok(as_("pilot", COMPANY_A).post("/flight/deployments", body, keyed("k")))
    b = ok(as_("pilot", COMPANY_B).post("/flight/deployments", body, keyed("k")))
    assert a["deployment_id"] != b["deployment_id"]
    assert b["company_id"] == COMPANY_B


def test_same_key_from_another_user_of_the_company_is_not_replayed(as_, target):
    url, body, count = target("deployment")
    ok(as_("pilot", user="user-1").post(url, body, headers=keyed("k-4")))
    before = count()
    error(as_("pilot", user="user-2").post(url, body, headers=keyed("k-4")), 422)
    assert count() == before


def test_a_failed_request_releases_its_key(as_, factory, target):
    dep = target.deployment_id
    draft = factory.plan(dep, status="draft")["flight_plan_id"]
    url = f"/flight/deployments/{dep}/sessions"
    body = {"flight_plan_id": draft, "start_date_time": T0, "end_date_time": T1}

    error(as_("pilot").post(url, body, headers=keyed("k-5")), 422)
    ok(as_("approver").patch(f"/flight/plans/{draft}", {"status": "approved"}))
    made = ok(as_("pilot").post(url, body, headers=keyed("k-5")))

    assert made["flight_plan_id"] == draft


def test_a_request_that_raises_releases_its_key(as_, target, monkeypatch):
    url, body, count = target("deployment")
    real = deployments_store.insert_deployment

    def unreachable(*args, **kwargs):
        raise AutoReconnect("connection refused")

    monkeypatch.setattr(deployments_store, "insert_deployment", unreachable)
    error(as_("pilot").post(url, body, headers=keyed("k-6")), 503)
    monkeypatch.setattr(deployments_store, "insert_deployment", real)
    before = count()

    ok(as_("pilot").post(url, body, headers=keyed("k-6")))
    assert count() == before + 1


def _failing_completion(monkeypatch, failures):
    """The next `failures` attempts to store an answer lose the connection."""
    real = idempotency._complete
    left = [failures]

    def flaky(*args, **kwargs):
        if left[0] > 0:
            left[0] -= 1
            raise AutoReconnect("connection reset")
        return real(*args, **kwargs)

    monkeypatch.setattr(idempotency, "_complete", flaky)


@pytest.mark.parametrize("kind", KINDS)
def test_a_blip_storing_the_answer_still_answers_and_replays(
    as_, target, monkeypatch, kind
):
    url, body, count = target(kind)
    before = count()
    _failing_completion(monkeypatch, failures=1)

    first = as_("pilot").post(url, body, headers=keyed("k-blip"))
    again = as_("pilot").post(url, body, headers=keyed("k-blip"))

    ok(first)
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count() == before + 1


def test_an_answer_that_cannot_be_stored_is_still_given(as_, target, monkeypatch):
    """The creation is made, so the client hears 200, not a 503 inviting a
    retry; the key stays reserved, and a retry within the lease is a 409."""
    url, body, count = target("session")
    before = count()
    _failing_completion(monkeypatch, failures=idempotency._ROUNDS)

    ok(as_("pilot").post(url, body, headers=keyed("k-down")))
    retry = as_("pilot").post(url, body, headers=keyed("k-down"))

    error(retry, 409)
    assert count() == before + 1


def test_retry_while_the_first_is_in_flight_gets_409_then_the_answer(
    app, as_, target, monkeypatch
):
    url, body, count = target("deployment")
    before = count()
    entered, finish = threading.Event(), threading.Event()
    real = deployments_store.insert_deployment

    def slow(*args, **kwargs):
        entered.set()
        assert finish.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(deployments_store, "insert_deployment", slow)
    token = as_("pilot").token
    answers = {}

    def first():
        own = Caller(app.test_client(), token)
        answers["first"] = own.post(url, body, headers=keyed("k-7"))

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert entered.wait(10)
        busy = as_("pilot").post(url, body, headers=keyed("k-7"))
    finally:
        finish.set()
        thread.join(10)

    err = error(busy, 409)
    assert "in progress" in err["message"]
    assert busy.headers["Retry-After"] == "1"
    ok(answers["first"])
    replay = as_("pilot").post(url, body, headers=keyed("k-7"))
    assert replay.get_data() == answers["first"].get_data()
    assert count() == before + 1


INSERTS = {
    "deployment": (deployments_store, "insert_deployment"),
    "plan": (plans_store, "insert_plan"),
    "session": (sessions_store, "insert_session"),
}


@pytest.mark.parametrize("kind", KINDS)
def test_racing_retries_create_exactly_one_record(app, as_, target, monkeypatch, kind):
    url, body, count = target(kind)
    before = count()
    racers = 8
    token = as_("pilot").token
    start = threading.Barrier(racers)
    others_answered = threading.Event()
    answers = []
    lock = threading.Lock()
    module, name = INSERTS[kind]
    real = getattr(module, name)

    def held_open(*args, **kwargs):
        # The creation stays open until every other racer has its answer;
        # without a reservation they would all be in here by then.
        others_answered.wait(5)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, held_open)

    def send():
        own = Caller(app.test_client(), token)
        start.wait(10)
        answer = own.post(url, body, headers=keyed("k-race"))
        with lock:
            answers.append(answer)
            if len(answers) == racers - 1:
                others_answered.set()

    threads = [threading.Thread(target=send) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert count() == before + 1
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [409] * (racers - 1)
    winner = next(a for a in answers if a.status_code == 200)
    replay = as_("pilot").post(url, body, headers=keyed("k-race"))
    assert replay.get_data() == winner.get_data()


def test_an_expired_key_counts_as_new(make_app, token_for):
    app = make_app(IDEMPOTENCY_TTL_S=0)
    caller = Caller(app.test_client(), token_for("pilot"))
    a = ok(caller.post("/flight/deployments", {"name": "x"}, keyed("k-8")))
    b = ok(caller.post("/flight/deployments", {"name": "x"}, keyed("k-8")))
    assert a["deployment_id"] != b["deployment_id"]


def _orphan(app, caller, key, locked_for_s):
    """Make `key` look held by a request that died without releasing it."""
    ok(caller.post("/flight/deployments", {"name": "x"}, keyed(key)))
    now = datetime.datetime.now(datetime.UTC)
    with app.app_context():
        db.get_db()["idempotency_keys"].update_one(
            {"_id": {"company_id": COMPANY_A, "key": key}},
            {
                "$set": {
                    "state": "in_progress",
                    "token": "dead",
                    "locked_until": now + datetime.timedelta(seconds=locked_for_s),
                },
                "$unset": {"response": ""},
            },
        )
        return db.deployments().count_documents({})


def test_an_abandoned_reservation_is_taken_over_after_its_lease(app, as_):
    caller = as_("pilot")
    before = _orphan(app, caller, "k-9", locked_for_s=-1)
    ok(caller.post("/flight/deployments", {"name": "x"}, keyed("k-9")))
    with app.app_context():
        assert db.deployments().count_documents({}) == before + 1


def test_a_live_reservation_is_respected(app, as_):
    caller = as_("pilot")
    _orphan(app, caller, "k-10", locked_for_s=60)
    error(caller.post("/flight/deployments", {"name": "x"}, keyed("k-10")), 409)


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "caf\xe9", "a b"])
def test_an_unusable_key_is_refused_before_anything_happens(as_, target, key):
    url, body, count = target("deployment")
    before = count()
    err = error(as_("pilot").post(url, body, headers=keyed(key)), 422)
    assert HEADER in err["errors"]
    assert count() == before


def test_record_is_scoped_by_company_and_key_and_expires(app, as_):
    ok(as_("pilot").post("/flight/deployments", {"name": "x"}, keyed("k-11")))
    with app.app_context():
        (record,) = db.get_db()["idempotency_keys"].find({})
    assert record["_id"] == {"company_id": COMPANY_A, "key": "k-11"}
    assert record["state"] == "done"
    expires = record["expires_at"].replace(tzinfo=datetime.UTC)
    left = expires - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(hours=23) < left <= datetime.timedelta(hours=24)


def test_ttl_index_is_declared_and_created(app):
    (model,) = db.INDEXES["idempotency_keys"]
    assert model.document["key"] == {"expires_at": 1}
    assert model.document["expireAfterSeconds"] == 0
    with app.app_context():
        db.ensure_indexes()
        info = db.get_db()["idempotency_keys"].index_information()
    # list(): mongomock reports the keys of an IndexModel as dict_items.
    ttl = [i for i in info.values() if list(i["key"]) == [("expires_at", 1)]]
    assert ttl and ttl[0]["expireAfterSeconds"] == 0


def test_openapi_documents_the_header_on_every_post(client):
    spec = client.get("/openapi.json").get_json()
    posts = [
        (path, ops["post"]) for path, ops in spec["paths"].items() if "post" in ops
    ]
    assert len(posts) == 3
    for path, operation in posts:
        names = [p.get("name") for p in operation.get("parameters", [])]
        assert HEADER in names, path
        assert {"409", "422"} <= set(operation["responses"]), path
