"""The company flight log, GET /flight/sessions, and the filters of a
deployment's own list, checked against answers worked out by hand."""

import json

import pytest

from app import db
from tests.conftest import COMPANY_A, COMPANY_B, T0, T1, error, ok
from tests.flight_log_data import (
    MINUTE,
    expected,
    make_log,
    matches,
    window_params,
)

LOG = "/flight/sessions"
# The five fields, in the order of the published documentation.
SEED_ORDER = [
    "flight_session_id",
    "flight_plan_id",
    "deployment_id",
    "start_date_time",
    "end_date_time",
]
NONEXISTENT = "0123456789abcdef0123456789abcdef"


def pagination(response):
    return json.loads(response.headers["X-Pagination"])


def walk(caller, params, page_size=100):
    """Every page of the log in turn; the sessions and the last metadata."""
    seen, page = [], 1
    while True:
        query = {**params, "page": page, "page_size": page_size}
        response = caller.get(LOG, query_string=query)
        seen.extend(ok(response))
        meta = pagination(response)
        if page >= meta["total_pages"]:
            return seen, meta
        page += 1


@pytest.fixture
def log(app):
    """About 3,000 sessions of company A in 300 deployments, and B's beside."""
    mine = make_log(app, COMPANY_A, seed=11)
    make_log(app, COMPANY_B, seed=12, n_deployments=40)
    return mine


# Case 11: pagination counts sessions, not deployments.


@pytest.fixture
def case11(factory):
    """Three deployments of A holding 1, 4 and 2 sessions; one of B with 5."""
    deployments = [factory.flying(COMPANY_A, sessions=n) for n in (1, 4, 2)]
    factory.flying(COMPANY_B, sessions=5)
    return deployments


def test_first_page_counts_sessions_not_deployments(as_, case11):
    response = as_("viewer").get(LOG, query_string={"page": 1, "page_size": 2})

    assert len(ok(response)) == 2
    meta = pagination(response)
    assert meta["total"] == 7
    assert meta["total_pages"] == 4


def test_walking_pages_yields_each_session_once_in_start_order(as_, case11):
    mine = [s for _, _, made in case11 for s in made]
    caller = as_("viewer")

    pages = [
        ok(caller.get(LOG, query_string={"page": page, "page_size": 2}))
        for page in (1, 2, 3, 4)
    ]

    assert [len(p) for p in pages] == [2, 2, 2, 1]
    walked = [s for page in pages for s in page]
    assert walked == expected(mine)
    assert len({s["flight_session_id"] for s in walked}) == 7


def test_deployment_filter_pages_that_deployment_only(as_, case11):
    dep_p2, _, made = case11[1]
    response = as_("viewer").get(
        LOG, query_string={"deployment_id": dep_p2, "page": 1, "page_size": 3}
    )

    assert ok(response) == expected(made)[:3]
    assert pagination(response)["total"] == 4


@pytest.mark.parametrize(
    "name, value",
    [
        ("page", "0"),
        ("page", "-1"),
        ("page", "abc"),
        ("page_size", "0"),
        ("page_size", "-5"),
        ("page_size", "1.5"),
        ("page_size", "101"),
        ("page_size", "1000000"),
    ],
)
def test_bad_page_values_are_refused_naming_the_parameter(as_, case11, name, value):
    failure = error(as_("viewer").get(LOG, query_string={name: value}), 422)

    assert name in failure["errors"]


def test_largest_page_size_is_served(as_, case11):
    response = as_("viewer").get(LOG, query_string={"page_size": 100})

    assert len(ok(response)) == 7


def test_page_beyond_the_last_is_empty(as_, case11):
    response = as_("viewer").get(LOG, query_string={"page": 99, "page_size": 2})

    assert ok(response) == []
    assert pagination(response)["total"] == 7


# Case 7, steps 8 and 9: another company's sessions never show.


def test_foreign_deployment_filter_answers_like_a_missing_one(as_, factory):
    factory.flying(COMPANY_A, sessions=2)
    dep_b1, _, _ = factory.flying(COMPANY_B, sessions=1)
    caller = as_("admin")

    foreign = caller.get(LOG, query_string={"deployment_id": dep_b1})
    missing = caller.get(LOG, query_string={"deployment_id": NONEXISTENT})

    assert ok(foreign) == []
    assert foreign.get_json() == missing.get_json()
    assert pagination(foreign) == pagination(missing)


def test_unfiltered_log_walked_to_the_end_holds_only_the_callers(as_, factory):
    _, _, mine_1 = factory.flying(COMPANY_A, sessions=2)
    _, _, mine_2 = factory.flying(COMPANY_A, sessions=1)
    _, _, theirs = factory.flying(COMPANY_B, sessions=3)

    walked, meta = walk(as_("admin"), {}, page_size=1)

    assert walked == expected(mine_1 + mine_2)
    assert meta["total"] == 3
    foreign = {s["flight_session_id"] for s in theirs}
    assert not foreign & {s["flight_session_id"] for s in walked}


# Case 1, positive control: digit strings stored as numbers, found by window.


def test_session_posted_with_digit_strings_is_found_in_its_window(as_, factory, stored):
    dep = factory.deployment()["deployment_id"]
    plan = factory.plan(dep)["flight_plan_id"]
    body = {
        "flight_plan_id": plan,
        "start_date_time": "1527469200000",
        "end_date_time": "1527479200000",
    }
    made = ok(as_("pilot").post(f"/flight/deployments/{dep}/sessions", body))
    assert made["start_date_time"] == 1527469200000
    assert made["end_date_time"] == 1527479200000

    window = {"from": "1527469100000", "to": "1527479300000"}
    found = ok(as_("viewer").get(LOG, query_string=window))

    assert [s["flight_session_id"] for s in found] == [made["flight_session_id"]]
    element = stored("deployments", dep)["flight_sessions"][0]
    # pymongo reads a 64-bit integer back as bson.Int64, a subclass of int.
    for name in ("start_date_time", "end_date_time"):
        value = element[name]
        assert isinstance(value, int) and not isinstance(value, bool), value


@pytest.mark.parametrize(
    "window, kept",
    [
        ({"from": T1}, True),  # ends exactly when the window opens
        ({"to": T0}, True),  # starts exactly when the window closes
        ({"from": T0 + 1, "to": T1 - 1}, True),  # window inside the flight
        ({"from": T1 + 1}, False),
        ({"to": T0 - 1}, False),
        ({"from": T0 - 2, "to": T0 - 1}, False),
    ],
)
def test_window_keeps_sessions_that_overlap_it_bounds_included(
    as_, factory, window, kept
):
    _, _, made = factory.flying(sessions=1)  # T0 .. T0 + 50 s
    factory.session(made[0]["deployment_id"], made[0]["flight_plan_id"])  # T0..T1

    found = ok(as_("viewer").get(LOG, query_string=window))

    overlapping = [s for s in found if s["end_date_time"] == T1]
    assert bool(overlapping) is kept


# The whole generated log.


def test_generated_log_has_ties_for_the_tie_break_to_settle(log):
    starts = [s["start_date_time"] for s in log.sessions]
    assert len(log.sessions) > 2500
    assert len(set(starts)) < len(starts) * 0.9


@pytest.mark.parametrize("newest_first", [False, True])
def test_pages_of_the_whole_log_follow_the_hand_sorted_order(as_, log, newest_first):
    whole = expected(log.sessions, newest_first=newest_first)
    last_page = (len(whole) - 1) // 100 + 1
    sort = {"sort": "-start_date_time"} if newest_first else {}
    caller = as_("viewer")

    for page in (1, last_page // 2, last_page):
        query = {**sort, "page": page, "page_size": 100}
        response = caller.get(LOG, query_string=query)
        assert ok(response) == whole[(page - 1) * 100 : page * 100]
        assert pagination(response)["total"] == len(whole)
        assert pagination(response)["total_pages"] == last_page


@pytest.mark.parametrize("newest_first", [False, True])
def test_walking_a_window_yields_every_session_once_in_order(as_, log, newest_first):
    start = min(s["start_date_time"] for s in log.sessions) + 500 * MINUTE
    window = {"start": start, "end": start + 350 * MINUTE}
    params = window_params(**window)
    if newest_first:
        params["sort"] = "-start_date_time"

    walked, meta = walk(as_("viewer"), params)

    wanted = expected(log.sessions, newest_first=newest_first, **window)
    assert 250 < len(wanted) < 1000  # several pages, not the whole log
    assert walked == wanted
    assert meta["total"] == len(wanted)


def pick_filters(log, kind):
    """Filters made from the generated data, so that each keeps something."""
    by_size = sorted(log.deployments, key=lambda d: len(log.deployments[d]))
    biggest = by_size[-1]
    session = log.deployments[biggest][0]
    plan = session["flight_plan_id"]
    start, end = session["start_date_time"], session["end_date_time"]
    return {
        "deployment": {"deployment_id": biggest},
        "plan": {"flight_plan_id": plan},
        "from": {"start": end},  # keeps `session`, which ends right there
        "to": {"end": start},  # keeps `session`, which starts right there
        "instant": {"start": start, "end": start},
        "plan and window": {
            "flight_plan_id": plan,
            "start": start - 300 * MINUTE,
            "end": start + 300 * MINUTE,
        },
        "all four": {
            "deployment_id": biggest,
            "flight_plan_id": plan,
            "start": start - 900 * MINUTE,
            "end": end + 900 * MINUTE,
        },
        "empty deployment": {"deployment_id": by_size[0]},
    }[kind]


def as_query(filters):
    query = {k: v for k, v in filters.items() if k not in ("start", "end")}
    query.update(window_params(filters.get("start"), filters.get("end")))
    return query


@pytest.mark.parametrize(
    "kind",
    [
        "deployment",
        "plan",
        "from",
        "to",
        "instant",
        "plan and window",
        "all four",
        "empty deployment",
    ],
)
def test_filters_keep_exactly_the_hand_computed_sessions(as_, log, kind):
    filters = pick_filters(log, kind)
    wanted = expected(log.sessions, **filters)

    response = as_("viewer").get(
        LOG, query_string={**as_query(filters), "page_size": 100}
    )

    assert ok(response) == wanted[:100]
    assert pagination(response)["total"] == len(wanted)
    if kind != "empty deployment":
        assert wanted


# Bad query values: 422 naming the parameter, never a 500.

BAD_QUERIES = [
    ({"from": "abc"}, "from"),
    ({"from": "1527469200000.5"}, "from"),
    ({"from": "true"}, "from"),
    ({"from": "-1"}, "from"),
    ({"from": " 1527469200000"}, "from"),
    ({"from": "1_527_469_200_000"}, "from"),
    ({"from": "١٥٢٧٤٦٩٢٠٠٠٠٠"}, "from"),
    ({"from": "1527469200"}, "from"),  # epoch seconds
    ({"to": ""}, "to"),
    ({"to": "²"}, "to"),
    ({"from": "1527479200000", "to": "1527469200000"}, "to"),
    ({"flight_plan_id": "XYZ"}, "flight_plan_id"),
    ({"flight_plan_id": "0123456789ABCDEF0123456789ABCDEF"}, "flight_plan_id"),
    ({"sort": "desc"}, "sort"),
    ({"sort": "end_date_time"}, "sort"),
]
LOG_ONLY_BAD_QUERIES = [
    ({"deployment_id": "not-an-id"}, "deployment_id"),
    ({"deployment": NONEXISTENT}, "deployment"),  # misspelt filter
    ({"form": "1527469200000"}, "form"),
]


@pytest.mark.parametrize("query, field", BAD_QUERIES + LOG_ONLY_BAD_QUERIES)
def test_bad_log_query_is_refused_naming_the_parameter(as_, query, field):
    failure = error(as_("viewer").get(LOG, query_string=query), 422)

    assert list(failure["errors"]) == [field]


@pytest.mark.parametrize("query, field", BAD_QUERIES)
def test_bad_deployment_list_query_is_refused_naming_the_parameter(
    as_, factory, query, field
):
    dep, _, _ = factory.flying(sessions=1)
    url = f"/flight/deployments/{dep}/sessions"

    failure = error(as_("viewer").get(url, query_string=query), 422)

    assert list(failure["errors"]) == [field]


def test_log_needs_a_token(client):
    error(client.get(LOG), 401)


def test_viewer_reads_the_log(as_, factory):
    factory.flying(sessions=2)

    assert len(ok(as_("viewer").get(LOG))) == 2


# A deployment's own list: the documented default, and the new filters.


class CountingDatabase:
    """Counts the calls made on any collection of the wrapped database."""

    def __init__(self, database):
        self.database = database
        self.calls = []

    def __getitem__(self, name):
        collection = self.database[name]
        calls = self.calls

        class Counting:
            def __getattr__(self, attr):
                calls.append(f"{name}.{attr}")
                return getattr(collection, attr)

        return Counting()


@pytest.fixture
def round_trips(monkeypatch):
    """The database calls made during a request, by collection and method."""
    real = db.get_db
    counting = {}

    def get_db():
        if "db" not in counting:
            counting["db"] = CountingDatabase(real())
        return counting["db"]

    monkeypatch.setattr(db, "get_db", get_db)
    return lambda: counting["db"].calls if "db" in counting else []


def test_default_deployment_list_is_unchanged(as_, factory, stored):
    dep = factory.deployment()["deployment_id"]
    plan = factory.plan(dep)["flight_plan_id"]
    for start in (T0 + 3000, T0, T0 + 1000):  # created out of time order
        factory.session(dep, plan, start=start, end=start + 500)

    response = as_("viewer").get(f"/flight/deployments/{dep}/sessions")

    data = ok(response)
    elements = stored("deployments", dep)["flight_sessions"]
    assert data == [
        {
            "flight_session_id": e["flight_session_id"],
            "flight_plan_id": e["flight_plan_id"],
            "deployment_id": dep,
            "start_date_time": e["start_date_time"],
            "end_date_time": e["end_date_time"],
        }
        for e in elements
    ]
    assert [s["start_date_time"] for s in data] == [T0 + 3000, T0, T0 + 1000]
    assert all(list(s) == SEED_ORDER for s in data)
    assert "X-Pagination" not in response.headers
    assert response.mimetype == "application/json"


@pytest.mark.parametrize("query", [{}, {"sort": "start_date_time", "to": T1}])
def test_deployment_list_takes_one_database_round_trip(
    as_, factory, round_trips, query
):
    dep, _, _ = factory.flying(sessions=3)
    before = len(round_trips())

    response = as_("viewer").get(
        f"/flight/deployments/{dep}/sessions", query_string=query
    )

    assert len(ok(response)) == 3
    assert round_trips()[before:] == ["deployments.find_one"]


@pytest.mark.parametrize(
    "kind, sort",
    [
        ("plan", None),
        ("plan", "start_date_time"),
        ("from", "-start_date_time"),
        ("to", None),
        ("plan and window", "start_date_time"),
        ("none", "-start_date_time"),
        ("none", "start_date_time"),
    ],
)
def test_deployment_list_filters_and_sorts_like_hand_computed(as_, log, kind, sort):
    filters = {} if kind == "none" else pick_filters(log, kind)
    dep = pick_filters(log, "deployment")["deployment_id"]
    stored_order = log.deployments[dep]
    if sort is None:
        wanted = [s for s in stored_order if matches(s, **filters)]
    else:
        wanted = expected(stored_order, newest_first=sort.startswith("-"), **filters)
    query = as_query(filters)
    if sort is not None:
        query["sort"] = sort

    data = ok(
        as_("viewer").get(f"/flight/deployments/{dep}/sessions", query_string=query)
    )

    assert data == wanted
    assert wanted


def test_filtered_foreign_deployment_list_is_404_like_a_missing_one(as_, factory):
    dep_b1, _, _ = factory.flying(COMPANY_B, sessions=1)
    caller = as_("admin")
    query = {"from": T0, "sort": "start_date_time"}

    foreign = caller.get(f"/flight/deployments/{dep_b1}/sessions", query_string=query)
    missing = caller.get(
        f"/flight/deployments/{NONEXISTENT}/sessions", query_string=query
    )

    assert error(foreign, 404)["message"] == error(missing, 404)["message"]


def test_openapi_documents_the_log_parameters(client):
    spec = client.get("/openapi.json").get_json()

    log_params = {p["name"] for p in spec["paths"][LOG]["get"]["parameters"]}
    assert {"deployment_id", "flight_plan_id", "from", "to", "sort"} <= log_params
    assert {"page", "page_size"} <= log_params
    path = "/flight/deployments/{deployment_id}/sessions"
    deployment_params = {p["name"] for p in spec["paths"][path]["get"]["parameters"]}
    assert {"flight_plan_id", "from", "to", "sort"} <= deployment_params
    assert "page" not in deployment_params
    json_schema = spec["paths"][path]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    assert json_schema == {"$ref": "#/components/schemas/FlightSessionListEnvelope"}


def test_indexes_cover_both_ends_of_the_window(app):
    keys = db.INDEXES["deployments"]

    assert [("company_id", 1), ("flight_sessions.start_date_time", 1)] in keys
    assert [("company_id", 1), ("flight_sessions.end_date_time", 1)] in keys
    # The `flask` command pushes the app context itself; the bare runner not.
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["indexes", "create"])
    assert result.exit_code == 0, result.output
    assert "flight_sessions.end_date_time" in result.output
