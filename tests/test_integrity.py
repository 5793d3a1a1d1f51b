"""Integrity across documents: plans in use, deployments holding sessions, limits."""

import os
import threading

import bson
import pytest
from pymongo import errors as mongo_errors

from app import db
from app.deployments import store as deployments_store
from app.flight_plans import routes as plans_routes
from app.flight_plans import store as plans_store
from app.flight_sessions import store as sessions_store
from tests.conftest import T0, Caller, error, ok
from tests.threads import parallel


def session_body(plan, i=0):
    start = T0 + i * 100_000
    return {
        "flight_plan_id": plan,
        "start_date_time": start,
        "end_date_time": start + 50_000,
    }


def auth_header(token):
    return {"Authorization": f"Bearer {token}"}


# --- Plans in use -----------------------------------------------------------


def test_deleting_a_plan_in_use_answers_409_with_the_count(as_, factory, stored):
    dep, plan, _ = factory.flying(sessions=3)
    before = stored("flight_plans", plan)

    err = error(as_("pilot").delete(f"/flight/plans/{plan}"), 409)

    assert "3" in err["message"]
    assert "3" in err["errors"]["flight_plan_id"][0]
    assert stored("flight_plans", plan) == before
    assert len(stored("deployments", dep)["flight_sessions"]) == 3
    factory.session(dep, plan)  # still usable


def test_a_plan_no_session_uses_can_be_deleted(as_, factory, stored):
    dep, plan, made = factory.flying(sessions=1)
    url = f"/flight/deployments/{dep}/sessions/{made[0]['flight_session_id']}"
    ok(as_("pilot").delete(url))

    ok(as_("pilot").delete(f"/flight/plans/{plan}"))

    assert stored("flight_plans", plan) is None
    error(as_("pilot").get(f"/flight/plans/{plan}"), 404)


def test_session_create_that_checked_the_plan_before_its_delete_is_refused(
    app, as_, factory, stored, monkeypatch
):
    # The create has found the plan approved; the delete runs to the end
    # before the create writes. The create's own update must refuse it.
    dep = factory.deployment()["deployment_id"]
    plan = factory.plan(dep)["flight_plan_id"]
    checked, deleted = threading.Event(), threading.Event()
    real = sessions_store.insert_session

    def after_the_check(*args, **kwargs):
        checked.set()
        assert deleted.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(sessions_store, "insert_session", after_the_check)
    answers = {}
    pilot = as_("pilot").token

    def create():
        own = Caller(app.test_client(), pilot)
        url = f"/flight/deployments/{dep}/sessions"
        answers["create"] = own.post(url, session_body(plan))

    thread = threading.Thread(target=create)
    thread.start()
    try:
        assert checked.wait(10)
        answers["delete"] = as_("pilot").delete(f"/flight/plans/{plan}")
    finally:
        deleted.set()
        thread.join(10)

    ok(answers["delete"])
    err = error(answers["create"], 422)
    assert "flight_plan_id" in err["errors"]
    assert stored("deployments", dep)["flight_sessions"] == []


def test_session_create_during_a_plan_delete_is_refused(
    app, as_, factory, stored, monkeypatch
):
    # The delete has barred the plan and is about to remove it when a
    # create arrives: the create is refused, the delete completes.
    dep = factory.deployment()["deployment_id"]
    plan = factory.plan(dep)["flight_plan_id"]
    real = plans_store.delete_plan
    answers = {}
    pilot = as_("pilot").token

    def with_a_create_first(*args, **kwargs):
        def create():
            own = Caller(app.test_client(), pilot)
            url = f"/flight/deployments/{dep}/sessions"
            answers["create"] = own.post(url, session_body(plan))

        thread = threading.Thread(target=create)
        thread.start()
        thread.join(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(plans_store, "delete_plan", with_a_create_first)
    ok(as_("pilot").delete(f"/flight/plans/{plan}"))

    error(answers["create"], 422)
    assert stored("deployments", dep)["flight_sessions"] == []
    assert stored("flight_plans", plan) is None


def test_session_moved_to_a_plan_being_deleted_is_refused(
    app, as_, factory, stored, monkeypatch
):
    dep, plan, made = factory.flying(sessions=1)
    other = factory.plan(dep)["flight_plan_id"]
    session_url = f"/flight/deployments/{dep}/sessions/{made[0]['flight_session_id']}"
    real = plans_store.delete_plan
    answers = {}
    pilot = as_("pilot").token

    def with_a_move_first(*args, **kwargs):
        def move():
            own = Caller(app.test_client(), pilot)
            answers["move"] = own.patch(session_url, {"flight_plan_id": other})

        thread = threading.Thread(target=move)
        thread.start()
        thread.join(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(plans_store, "delete_plan", with_a_move_first)
    ok(as_("pilot").delete(f"/flight/plans/{other}"))

    err = error(answers["move"], 422)
    assert "flight_plan_id" in err["errors"]
    (element,) = stored("deployments", dep)["flight_sessions"]
    assert element["flight_plan_id"] == plan


def test_a_stale_delete_does_not_lift_the_bar_of_one_under_way(
    app, as_, factory, stored, monkeypatch
):
    # Y deletes the plan and has barred it. Meanwhile X, whose If-Match
    # check passed, finds the plan changed and answers 412: it lifts only
    # its own bar, so a session create that follows is still refused.
    dep = factory.deployment()["deployment_id"]
    plan = factory.plan(dep)["flight_plan_id"]
    url = f"/flight/plans/{plan}"
    etag = as_("viewer").get(url).headers["ETag"]
    real = plans_store.delete_plan
    answers = {}
    pilot = as_("pilot").token

    def in_y(company_id, flight_plan_id, expected=None):
        if expected is not None:  # X, the stale one: the plan changes first,
            # and stays approved, as when an approver edits and re-approves it
            db.flight_plans().update_one({"_id": plan}, {"$set": {"description": "v2"}})
            return real(company_id, flight_plan_id, expected)

        def x_then_a_create():
            own = Caller(app.test_client(), pilot)
            answers["x"] = own.delete(url, headers={"If-Match": etag})
            answers["create"] = own.post(
                f"/flight/deployments/{dep}/sessions", session_body(plan)
            )

        thread = threading.Thread(target=x_then_a_create)
        thread.start()
        thread.join(10)
        return real(company_id, flight_plan_id, expected)

    monkeypatch.setattr(plans_store, "delete_plan", in_y)
    ok(as_("pilot").delete(url))

    error(answers["x"], 412)
    assert "flight_plan_id" in error(answers["create"], 422)["errors"]
    assert stored("deployments", dep)["flight_sessions"] == []
    assert stored("flight_plans", plan) is None


def test_lifting_one_bar_keeps_the_others(app, factory):
    dep = factory.deployment()["deployment_id"]
    plan = factory.plan(dep)["flight_plan_id"]
    element = {"flight_plan_id": plan, "start_date_time": T0, "end_date_time": T0}
    with app.app_context():
        first = sessions_store.bar_plan("company-a", dep, plan)
        second = sessions_store.bar_plan("company-a", dep, plan)
        sessions_store.lift_bar("company-a", dep, second)
        with pytest.raises(sessions_store.PlanDeleted):
            sessions_store.insert_session("company-a", "u", dep, element, 10)

        sessions_store.lift_bar("company-a", dep, first)
        assert sessions_store.insert_session("company-a", "u", dep, element, 10)


def outage(*args, **kwargs):
    raise mongo_errors.AutoReconnect("connection reset")


def test_plan_delete_that_fails_midway_leaves_the_plan_usable(
    as_, factory, stored, monkeypatch
):
    dep = factory.deployment()["deployment_id"]
    plan = factory.plan(dep)["flight_plan_id"]
    before = stored("deployments", dep)
    monkeypatch.setattr(plans_store, "delete_plan", outage)

    error(as_("pilot").delete(f"/flight/plans/{plan}"), 503)

    after = stored("deployments", dep)
    assert after.pop("plan_bars") == []
    assert after == before
    assert stored("flight_plans", plan)["status"] == "approved"
    factory.session(dep, plan)


def test_plan_create_that_fails_midway_creates_nothing(app, as_, factory, monkeypatch):
    dep = factory.deployment()["deployment_id"]
    real = plans_routes.find_deployment
    calls = []

    def second_look_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the look after the insert
            outage()
        return real(*args, **kwargs)

    monkeypatch.setattr(plans_routes, "find_deployment", second_look_fails)
    retry = {"Idempotency-Key": "plan-retry-1"}
    pilot = as_("pilot")

    error(pilot.post("/flight/plans", {"deployment_id": dep}, headers=retry), 503)
    with app.app_context():
        assert db.flight_plans().count_documents({"deployment_id": dep}) == 0

    ok(pilot.post("/flight/plans", {"deployment_id": dep}, headers=retry))
    with app.app_context():
        assert db.flight_plans().count_documents({"deployment_id": dep}) == 1


def creates_and_a_plan_delete(dep, plan, headers, creates=6):
    url = f"/flight/deployments/{dep}/sessions"
    calls = [
        lambda c, i=i: c.post(url, json=session_body(plan, i), headers=headers)
        for i in range(creates)
    ]
    calls.append(lambda c: c.delete(f"/flight/plans/{plan}", headers=headers))
    return calls


def test_plan_delete_racing_session_creates_never_orphans_a_session(
    app, as_, factory, stored
):
    dep = factory.deployment()["deployment_id"]
    headers = auth_header(as_("pilot").token)
    for round_ in range(5):
        plan = factory.plan(dep)["flight_plan_id"]

        answers = parallel(app, creates_and_a_plan_delete(dep, plan, headers))

        created = [a for a in answers[:-1] if a.status_code == 200]
        flown = [
            e
            for e in stored("deployments", dep)["flight_sessions"]
            if e["flight_plan_id"] == plan
        ]
        assert len(flown) == len(created), round_
        if answers[-1].status_code == 200:
            assert flown == [], round_
        else:
            error(answers[-1], 409)
            assert stored("flight_plans", plan) is not None


def test_changing_an_approved_plan_sends_it_to_draft_and_keeps_flown_sessions(
    as_, factory, stored
):
    dep, plan, made = factory.flying(sessions=2)
    url = f"/flight/plans/{plan}"

    changed = ok(as_("pilot").patch(url, {"description": "new route"}))

    assert changed["status"] == "draft"
    flown = stored("deployments", dep)["flight_sessions"]
    assert [e["flight_plan_id"] for e in flown] == [plan, plan]
    err = error(
        as_("pilot").post(f"/flight/deployments/{dep}/sessions", session_body(plan)),
        422,
    )
    assert "flight_plan_id" in err["errors"]
    ok(as_("approver").patch(url, {"status": "approved"}))
    factory.session(dep, plan)


def test_plan_created_while_its_deployment_is_deleted_does_not_survive_it(
    app, as_, factory, stored, monkeypatch
):
    dep = factory.deployment()["deployment_id"]
    real = plans_store.insert_plan

    def deployment_goes_first(company_id, *args, **kwargs):
        deployments_store.delete_deployment(company_id, dep, cascade=True)
        return real(company_id, *args, **kwargs)

    monkeypatch.setattr(plans_store, "insert_plan", deployment_goes_first)
    err = error(as_("pilot").post("/flight/plans", {"deployment_id": dep}), 422)

    assert "deployment_id" in err["errors"]
    with app.app_context():
        assert db.flight_plans().count_documents({"deployment_id": dep}) == 0


# --- Deployments holding sessions -------------------------------------------


@pytest.mark.parametrize("role", ["pilot", "admin"])
def test_deleting_a_deployment_with_sessions_answers_409(as_, factory, stored, role):
    dep, plan, _ = factory.flying(sessions=2)
    before = stored("deployments", dep)

    err = error(as_(role).delete(f"/flight/deployments/{dep}"), 409)

    assert "2" in err["message"]
    assert stored("deployments", dep) == before
    assert stored("flight_plans", plan) is not None


def test_cascade_needs_an_admin(as_, factory, stored):
    dep, _, _ = factory.flying(sessions=1)
    error(as_("pilot").delete(f"/flight/deployments/{dep}?cascade=true"), 403)
    assert stored("deployments", dep) is not None


def test_admin_cascade_deletes_the_deployment_its_sessions_and_plans(
    as_, factory, stored
):
    dep, plan, _ = factory.flying(sessions=2)
    ok(as_("admin").delete(f"/flight/deployments/{dep}?cascade=true"))
    assert stored("deployments", dep) is None
    assert stored("flight_plans", plan) is None


def test_an_empty_deployment_is_deleted_with_its_plans(as_, factory, stored):
    dep = factory.deployment()["deployment_id"]
    plan = factory.plan(dep)["flight_plan_id"]
    ok(as_("pilot").delete(f"/flight/deployments/{dep}"))
    assert stored("deployments", dep) is None
    assert stored("flight_plans", plan) is None


# --- Sessions per deployment --------------------------------------------------


@pytest.fixture
def small(make_app, token_for):
    """An app whose deployments hold at most three sessions."""
    app = make_app(MAX_SESSIONS_PER_DEPLOYMENT=3)
    admin = Caller(app.test_client(), token_for("admin"))
    dep = ok(admin.post("/flight/deployments", {"name": "small"}))["deployment_id"]
    plan = ok(admin.post("/flight/plans", {"deployment_id": dep}))["flight_plan_id"]
    ok(admin.patch(f"/flight/plans/{plan}", {"status": "approved"}))
    return app, admin, dep, plan


def test_a_full_deployment_answers_409_and_stores_nothing(small, stored):
    app, admin, dep, plan = small
    url = f"/flight/deployments/{dep}/sessions"
    for i in range(3):
        ok(admin.post(url, session_body(plan, i)))

    err = error(admin.post(url, session_body(plan, 3)), 409)

    assert "3" in err["message"]
    with app.app_context():
        assert len(db.deployments().find_one({"_id": dep})["flight_sessions"]) == 3
    first = ok(admin.get(url))[0]["flight_session_id"]
    ok(admin.delete(f"{url}/{first}"))
    ok(admin.post(url, session_body(plan, 4)))  # room again


@pytest.mark.parametrize("code", [10334, 17419])
def test_a_document_too_large_to_grow_answers_409_not_500(
    as_, factory, stored, monkeypatch, code
):
    """What MongoDB answers when a session would take a deployment past 16 MB.

    The embedded store has no size limit, so the server's refusal is
    raised here as pymongo reports it; the test below meets the real one.
    """
    dep, plan, _ = factory.flying(sessions=1)
    before = stored("deployments", dep)

    def refused(*_args, **_kwargs):
        raise mongo_errors.WriteError("BSONObj size is invalid", code=code)

    monkeypatch.setattr(sessions_store, "insert_session", refused)
    url = f"/flight/deployments/{dep}/sessions"

    err = error(as_("pilot").post(url, session_body(plan, 1)), 409)

    assert "full" in err["message"]
    assert stored("deployments", dep) == before


BSON_LIMIT = 16 * 1024 * 1024


@pytest.mark.skipif(
    not os.environ.get("MONGODB_URI"), reason="only MongoDB enforces the 16 MB limit"
)
def test_a_deployment_at_the_16_mb_limit_refuses_a_session_and_stays_readable(
    app, as_, factory, stored
):
    dep, plan, (session,) = factory.flying(sessions=1)
    doc = stored("deployments", dep)
    note = {"type": "Feature", "geometry": None, "properties": {"note": ""}}
    doc["deployment_area"] = {"type": "FeatureCollection", "features": [note]}
    target = BSON_LIMIT - 32  # no further session element fits
    note["properties"]["note"] = "x" * (target - len(bson.encode(doc)))
    assert BSON_LIMIT - 64 <= len(bson.encode(doc)) < BSON_LIMIT
    with app.app_context():
        db.deployments().replace_one({"_id": dep}, doc)
    url = f"/flight/deployments/{dep}/sessions"
    pilot = as_("pilot")

    failure = error(pilot.post(url, session_body(plan, 1)), 409)

    assert "full" in failure["message"]
    assert [s["flight_session_id"] for s in ok(pilot.get(url))] == [
        session["flight_session_id"]
    ]
    patched = pilot.patch(
        f"{url}/{session['flight_session_id']}",
        {"end_date_time": session["end_date_time"] + 1},
    )
    assert patched.status_code in (200, 409), patched.get_json()
    assert len(stored("deployments", dep)["flight_sessions"]) == 1


def test_racing_creates_never_exceed_the_limit(small):
    app, admin, dep, plan = small
    url = f"/flight/deployments/{dep}/sessions"
    headers = auth_header(admin.token)
    calls = [
        lambda c, i=i: c.post(url, json=session_body(plan, i), headers=headers)
        for i in range(12)
    ]

    answers = parallel(app, calls)

    assert sorted(a.status_code for a in answers) == [200] * 3 + [409] * 9
    with app.app_context():
        elements = db.deployments().find_one({"_id": dep})["flight_sessions"]
    created = {
        a.get_json()["data"]["flight_session_id"]
        for a in answers
        if a.status_code == 200
    }
    assert {e["flight_session_id"] for e in elements} == created


# --- Query behaviours both stores must share ------------------------------------
# Each write above relies on these; MongoDB documents them, mongomock is pinned.


@pytest.fixture
def pins(app):
    with app.app_context():
        collection = db.get_db()["pins"]
        collection.insert_many(
            [
                {"_id": "empty", "xs": [], "ids": []},
                {"_id": "none"},
                {"_id": "has-a", "xs": [{"p": "a"}, {"p": "b"}], "ids": ["a"]},
                {"_id": "nested", "d": {"k": 1, "j": [1, 2]}},
            ]
        )
        yield collection


def _ids(cursor):
    return sorted(d["_id"] for d in cursor)


def test_pin_ne_on_an_array_of_subdocuments_means_no_element_matches(pins):
    assert _ids(pins.find({"xs.p": {"$ne": "a"}})) == ["empty", "nested", "none"]


def test_pin_ne_on_an_array_of_values_means_not_a_member(pins):
    assert _ids(pins.find({"ids": {"$ne": "a"}})) == ["empty", "nested", "none"]
    assert _ids(pins.find({"ids": "a"})) == ["has-a"]


def test_pin_exists_false_on_an_array_index_counts_elements(pins):
    assert _ids(pins.find({"xs.1": {"$exists": False}})) == ["empty", "nested", "none"]


def test_pin_eq_compares_a_subdocument_as_a_value(pins):
    assert _ids(pins.find({"d": {"$eq": {"k": 1, "j": [1, 2]}}})) == ["nested"]
    assert _ids(pins.find({"d": {"$eq": {"k": 1, "j": [1]}}})) == []
    assert _ids(pins.find({"d": {"$exists": False}})) == ["empty", "has-a", "none"]


def test_pin_update_one_with_elem_match_changes_the_matched_element(pins):
    pins.update_one(
        {"_id": "has-a", "xs": {"$elemMatch": {"p": "b"}}}, {"$set": {"xs.$.q": 1}}
    )
    assert pins.find_one({"_id": "has-a"})["xs"] == [{"p": "a"}, {"p": "b", "q": 1}]


def test_pin_add_to_set_and_pull_of_a_value(pins):
    pins.update_one({"_id": "none"}, {"$addToSet": {"ids": "z"}})
    pins.update_one({"_id": "none"}, {"$addToSet": {"ids": "z"}})
    assert pins.find_one({"_id": "none"})["ids"] == ["z"]
    pins.update_one({"_id": "none"}, {"$pull": {"ids": "z"}})
    assert pins.find_one({"_id": "none"})["ids"] == []


def test_pin_a_subdocument_id_is_unique(pins):
    from pymongo.errors import DuplicateKeyError

    pins.insert_one({"_id": {"company_id": "c", "key": "k"}})
    with pytest.raises(DuplicateKeyError):
        pins.insert_one({"_id": {"company_id": "c", "key": "k"}})
    pins.insert_one({"_id": {"company_id": "c2", "key": "k"}})
