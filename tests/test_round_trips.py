"""Database round trips per request: a regression here costs every caller.

The app keeps a CommandLog (app/db.py): pymongo's command monitoring on a
real server, the embedded store's calls otherwise, named as MongoDB names
the commands, so one table holds for both. The counts are what the code
achieves today; `python -m bench` prints them beside their targets.
"""

from types import SimpleNamespace

import pytest

from app import db
from tests.conftest import T0, T1, error, ok

ROUTES = {
    # route: (commands today, target round trips)
    "get": (["find"], 1),
    "list": (["find"], 1),
    # Plan check, then one atomic $push whose filter holds the size limit.
    "post": (["find", "update"], 2),
    # One findAndModify answering with the changed element (see EMBEDDED).
    "patch": (["findAndModify"], 1),
    "patch_plan": (["find", "findAndModify"], 2),
    "delete": (["findAndModify"], 1),
    # Optional headers, with no target: what they add to the route.
    # Idempotency-Key reserves the key, then stores the answer.
    "post_key": (["insert", "find", "update", "update"], None),
    # If-Match reads the version it names before the conditional write.
    "patch_if_match": (["find", "findAndModify"], None),
    "delete_if_match": (["find", "findAndModify"], None),
}
# On the embedded store a PATCH is update_one, then a find to read the
# session back: mongomock 4.3's find_one_and_update sends a positional $ to
# the first array element (tests/test_embedded_store.py).
EMBEDDED = {
    "patch": ["update", "find"],
    "patch_plan": ["find", "update", "find"],
    "patch_if_match": ["find", "update", "find"],
}
EMBEDDED_MISSES = {"patch", "patch_plan"}


def expected_commands(app, route):
    if app.extensions["flight_db"].positional_find_and_modify:
        return ROUTES[route][0]
    return EMBEDDED.get(route, ROUTES[route][0])


@pytest.fixture
def app(make_app):
    return make_app(DB_COMMAND_LOG=True)


@pytest.fixture
def log(app):
    return app.extensions["flight_db"].command_log


@pytest.fixture
def send(as_, factory, log):
    """send(route): the commands one request of that route sent."""
    dep, plan, made = factory.flying(sessions=3)
    url = f"/flight/deployments/{dep}/sessions"
    one = f"{url}/{made[1]['flight_session_id']}"
    requests = {
        "get": ("get", one, None),
        "list": ("get", url, None),
        "post": (
            "post",
            url,
            {"flight_plan_id": plan, "start_date_time": T0, "end_date_time": T1},
        ),
        "patch": ("patch", one, {"end_date_time": T1 + 1}),
        "patch_plan": ("patch", one, {"flight_plan_id": plan}),
        "delete": ("delete", one, None),
        "patch_if_match": ("patch", one, {"end_date_time": T1 + 2}),
        "delete_if_match": ("delete", one, None),
    }
    requests["post_key"] = requests["post"]

    def run(route):
        method, target, body = requests[route]
        caller = as_("pilot")
        headers = {}
        if route == "post_key":
            headers["Idempotency-Key"] = "round-trip-check"
        if route.endswith("_if_match"):
            headers["If-Match"] = caller.get(target).headers["ETag"]
        log.clear()
        if body is None:
            ok(getattr(caller, method)(target, headers=headers))
        else:
            ok(getattr(caller, method)(target, body, headers=headers))
        return list(log.commands)

    run.session_id = made[1]["flight_session_id"]
    return run


@pytest.mark.parametrize("route", ROUTES)
def test_each_route_sends_the_commands_it_sends_today(app, send, route):
    assert [c.name for c in send(route)] == expected_commands(app, route)


@pytest.mark.parametrize(
    "route", [route for route in ROUTES if ROUTES[route][1] is not None]
)
def test_each_route_meets_its_round_trip_target(app, send, route):
    if (
        route in EMBEDDED_MISSES
        and not app.extensions["flight_db"].positional_find_and_modify
    ):
        pytest.xfail("the embedded store's PATCH reads the session back (EMBEDDED)")
    assert len(send(route)) <= ROUTES[route][1]


@pytest.mark.parametrize("route", ["get", "patch", "delete"])
def test_one_session_is_fetched_with_an_elem_match_projection(send, route):
    projections = [c.projection for c in send(route) if c.projection]
    wanted = {"$elemMatch": {"flight_session_id": send.session_id}}
    assert any(p.get("flight_sessions") == wanted for p in projections)


def test_a_missing_session_costs_no_more_round_trips(as_, factory, log):
    dep, _, _ = factory.flying(sessions=1)
    url = f"/flight/deployments/{dep}/sessions/{'0' * 32}"
    log.clear()
    assert as_("pilot").get(url).status_code == 404
    assert log.names == ["find"]


def test_the_bytes_fetched_for_one_session_do_not_grow_with_the_deployment(
    as_, factory, log
):
    """The projection sends one element back, however many the array holds."""
    fetched = []
    for size in (1, 40):
        dep, _, made = factory.flying(sessions=size)
        url = f"/flight/deployments/{dep}/sessions/{made[0]['flight_session_id']}"
        log.clear()
        ok(as_("pilot").get(url))
        fetched.append(log.commands[0].reply_bytes)
    assert fetched[0] == fetched[1]


def test_the_log_is_off_unless_asked_for(make_app):
    assert make_app().extensions["flight_db"].command_log is None


def test_on_mongodb_the_log_is_fed_by_command_monitoring():
    """Checked without a server: the client carries the listener, and the
    listener records what the embedded store records."""
    handle = db.Database(
        {
            "MONGODB_URI": "mongodb://127.0.0.1:1",
            "MONGODB_TIMEOUT_MS": 100,
            "DB_COMMAND_LOG": True,
        }
    )
    client = handle._make_client()
    try:
        (listener,) = client.options.event_listeners
    finally:
        client.close()

    projection = {"flight_sessions": {"$elemMatch": {"flight_session_id": "s"}}}
    listener.started(
        SimpleNamespace(
            request_id=7,
            command_name="findAndModify",
            command={"findAndModify": "deployments", "fields": projection},
        )
    )
    listener.succeeded(
        SimpleNamespace(request_id=7, command_name="findAndModify", reply={"ok": 1})
    )
    (command,) = handle.command_log.commands
    assert command.name == "findAndModify"
    assert command.projection == projection
    assert command.reply_bytes > 0


class TestTheOneTripPatch:
    """The PATCH that MongoDB gets, run on the embedded store.

    mongomock 4.3 applies find_one_and_update's positional $ to the first
    array element, so these tests PATCH only a deployment's first session,
    where the first element is the matched one and the bug cannot show.
    """

    @pytest.fixture
    def app(self, make_app):
        app = make_app(DB_COMMAND_LOG=True)
        app.extensions["flight_db"].positional_find_and_modify = True
        return app

    @pytest.fixture
    def first(self, factory):
        dep, _, made = factory.flying(sessions=2)
        url = f"/flight/deployments/{dep}/sessions"
        return f"{url}/{made[0]['flight_session_id']}", made[0]

    def test_answers_with_the_stored_session_in_one_round_trip(self, as_, log, first):
        url, session = first
        log.clear()
        changed = ok(as_("pilot").patch(url, {"end_date_time": T1 + 5}))
        assert log.names == ["findAndModify"]
        assert changed == {**session, "end_date_time": T1 + 5}
        assert ok(as_("viewer").get(url)) == changed

    def test_an_inverted_range_is_refused_and_changes_nothing(self, as_, first):
        url, session = first
        response = as_("pilot").patch(url, {"end_date_time": T0 - 1})
        assert error(response, 422)["errors"] == {
            "end_date_time": ["end_date_time must not be before start_date_time."]
        }
        assert ok(as_("viewer").get(url)) == session

    def test_a_stale_if_match_is_refused_and_changes_nothing(self, as_, first):
        url, session = first
        etag = as_("viewer").get(url).headers["ETag"]
        ok(as_("pilot").patch(url, {"end_date_time": T1 + 7}))
        response = as_("pilot").patch(
            url, {"start_date_time": T0 + 1}, headers={"If-Match": etag}
        )
        assert response.status_code == 412
        assert ok(as_("viewer").get(url)) == {**session, "end_date_time": T1 + 7}

    def test_a_missing_session_answers_404(self, as_, factory, log):
        dep, _, _ = factory.flying(sessions=1)
        log.clear()
        response = as_("pilot").patch(
            f"/flight/deployments/{dep}/sessions/{'0' * 32}", {"end_date_time": T1}
        )
        error(response, 404)
        assert log.names == ["findAndModify", "find"]
