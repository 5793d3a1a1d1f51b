"""Summaries of the flight log, company-wide and per deployment, against
figures added up by hand from the generated sessions."""

import pytest

from tests.conftest import COMPANY_A, COMPANY_B, T0, T1, error, ok
from tests.flight_log_data import MINUTE, figures, make_log, matches, window_params

SUMMARY = "/flight/sessions/summary"
NONEXISTENT = "0123456789abcdef0123456789abcdef"
ZERO = {
    "session_count": 0,
    "total_flight_time_ms": 0,
    "first_start_date_time": None,
    "last_end_date_time": None,
}


def deployment_summary(deployment_id):
    return f"/flight/deployments/{deployment_id}/sessions/summary"


@pytest.fixture
def log(app):
    """About 3,000 sessions of company A in 300 deployments, and B's beside."""
    mine = make_log(app, COMPANY_A, seed=21)
    make_log(app, COMPANY_B, seed=22, n_deployments=40)
    return mine


def grouped_by_hand(sessions, key):
    """{group id: figures}, only for groups holding kept sessions."""
    groups = {}
    for session in sessions:
        groups.setdefault(session[key], []).append(session)
    return {group: figures(members) for group, members in groups.items()}


def windows(log):
    """Windows cut from the generated data: none, narrow, wide, one-sided."""
    start = min(s["start_date_time"] for s in log.sessions)
    return [
        {},
        {"start": start + 700 * MINUTE, "end": start + 760 * MINUTE},
        {"start": start + 200 * MINUTE, "end": start + 2200 * MINUTE},
        {"start": start + 2900 * MINUTE},
        {"end": start + 100 * MINUTE},
    ]


@pytest.mark.parametrize("which", range(5))
def test_company_totals_equal_the_sums_by_hand(as_, log, which):
    window = windows(log)[which]
    kept = [s for s in log.sessions if matches(s, **window)]

    summary = ok(as_("viewer").get(SUMMARY, query_string=window_params(**window)))

    assert summary == figures(kept)
    assert summary["session_count"] > 0


GROUPINGS = [("deployment", "deployment_id"), ("flight_plan", "flight_plan_id")]


@pytest.mark.parametrize("group_by, key", GROUPINGS)
@pytest.mark.parametrize("which", [0, 1, 2])
def test_groups_equal_the_sums_by_hand(as_, log, group_by, key, which):
    window = windows(log)[which]
    kept = [s for s in log.sessions if matches(s, **window)]
    by_hand = grouped_by_hand(kept, key)
    query = {"group_by": group_by, **window_params(**window)}

    summary = ok(as_("viewer").get(SUMMARY, query_string=query))

    groups = summary.pop("groups")
    order = [(g["first_start_date_time"], g[key]) for g in groups]
    served = {g.pop(key): g for g in groups}
    assert summary == {**figures(kept), "group_by": group_by}
    assert served == by_hand
    assert len(served) == len(groups) > 1
    assert order == sorted(order)


def test_groups_list_only_their_own_key(as_, log):
    query = {"group_by": "flight_plan"}

    groups = ok(as_("viewer").get(SUMMARY, query_string=query))["groups"]

    assert all("deployment_id" not in g for g in groups)
    assert set(groups[0]) == {"flight_plan_id", *ZERO}


def test_company_summary_takes_the_list_filters(as_, log):
    dep = max(log.deployments, key=lambda d: len(log.deployments[d]))
    plan = log.deployments[dep][0]["flight_plan_id"]
    start = log.deployments[dep][0]["start_date_time"]
    filters = {"deployment_id": dep, "flight_plan_id": plan, "end": start}
    kept = [s for s in log.sessions if matches(s, **filters)]
    query = {"deployment_id": dep, "flight_plan_id": plan, "to": start}

    summary = ok(as_("viewer").get(SUMMARY, query_string=query))

    assert summary == figures(kept)
    assert summary["session_count"] >= 1


@pytest.mark.parametrize("which", range(5))
def test_deployment_summary_equals_the_sums_by_hand(as_, log, which):
    window = windows(log)[which]
    dep = max(log.deployments, key=lambda d: len(log.deployments[d]))
    kept = [s for s in log.deployments[dep] if matches(s, **window)]

    summary = ok(
        as_("viewer").get(deployment_summary(dep), query_string=window_params(**window))
    )

    assert summary == {"deployment_id": dep, **figures(kept)}


def test_deployment_summary_takes_a_plan_filter(as_, log):
    dep = max(log.deployments, key=lambda d: len(log.deployments[d]))
    plan = log.deployments[dep][-1]["flight_plan_id"]
    kept = [s for s in log.deployments[dep] if s["flight_plan_id"] == plan]

    summary = ok(
        as_("viewer").get(
            deployment_summary(dep), query_string={"flight_plan_id": plan}
        )
    )

    assert summary == {"deployment_id": dep, **figures(kept)}


def test_summary_agrees_with_the_listed_sessions(as_, factory):
    dep, plan, made = factory.flying(sessions=5)
    factory.session(dep, plan, start=T0, end=T1)
    listed = ok(as_("viewer").get(f"/flight/deployments/{dep}/sessions"))

    summary = ok(as_("viewer").get(deployment_summary(dep)))

    durations = [s["end_date_time"] - s["start_date_time"] for s in listed]
    assert summary["session_count"] == len(listed) == 6
    assert summary["total_flight_time_ms"] == sum(durations) == 5 * 50_000 + T1 - T0
    assert summary["first_start_date_time"] == T0
    assert summary["last_end_date_time"] == T1


# Nothing counted: 0, 0, null, null.


def test_empty_window_gives_zero_counts_and_null_times(as_, log):
    later = max(s["end_date_time"] for s in log.sessions) + 1
    caller = as_("viewer")

    plain = ok(caller.get(SUMMARY, query_string={"from": later}))
    grouped = ok(
        caller.get(SUMMARY, query_string={"from": later, "group_by": "deployment"})
    )

    assert plain == ZERO
    assert grouped == {**ZERO, "group_by": "deployment", "groups": []}


def test_company_without_sessions_gives_zero(as_, factory):
    factory.deployment()

    assert ok(as_("viewer").get(SUMMARY)) == ZERO


def test_deployment_without_sessions_gives_zero(as_, factory):
    dep = factory.deployment()["deployment_id"]

    summary = ok(as_("viewer").get(deployment_summary(dep)))

    assert summary == {"deployment_id": dep, **ZERO}


# Another company's deployment is not found; nor are its sessions counted.


def test_foreign_deployment_summary_is_404_like_a_missing_one(as_, factory):
    dep_b1, _, _ = factory.flying(COMPANY_B, sessions=2)
    caller = as_("admin")

    foreign = error(caller.get(deployment_summary(dep_b1)), 404)
    missing = error(caller.get(deployment_summary(NONEXISTENT)), 404)

    assert foreign == missing


def test_foreign_deployment_filter_sums_to_nothing_like_a_missing_one(as_, factory):
    factory.flying(COMPANY_A, sessions=1)
    dep_b1, _, _ = factory.flying(COMPANY_B, sessions=2)
    caller = as_("admin")

    foreign = caller.get(SUMMARY, query_string={"deployment_id": dep_b1})
    missing = caller.get(SUMMARY, query_string={"deployment_id": NONEXISTENT})

    assert ok(foreign) == ZERO
    assert foreign.get_json() == missing.get_json()


def test_company_summary_counts_only_the_callers_sessions(as_, factory):
    factory.flying(COMPANY_A, sessions=2)
    factory.flying(COMPANY_B, sessions=3)

    assert ok(as_("viewer").get(SUMMARY))["session_count"] == 2
    assert ok(as_("viewer", COMPANY_B).get(SUMMARY))["session_count"] == 3


# Bad query values: 422 naming the parameter.


@pytest.mark.parametrize(
    "query, field",
    [
        ({"group_by": "other"}, "group_by"),
        ({"group_by": "deployment_id"}, "group_by"),
        ({"group_by": ""}, "group_by"),
        ({"from": "abc"}, "from"),
        ({"to": "1.5"}, "to"),
        ({"from": T1, "to": T0}, "to"),
        ({"deployment_id": "XYZ"}, "deployment_id"),
        ({"flight_plan_id": "1234"}, "flight_plan_id"),
        ({"groupby": "deployment"}, "groupby"),
        ({"page": "1"}, "page"),  # the summary is not paged
    ],
)
def test_bad_summary_query_is_refused_naming_the_parameter(as_, query, field):
    failure = error(as_("viewer").get(SUMMARY, query_string=query), 422)

    assert list(failure["errors"]) == [field]


@pytest.mark.parametrize(
    "query, field",
    [
        ({"from": "abc"}, "from"),
        ({"from": T1, "to": T0}, "to"),
        ({"flight_plan_id": "XYZ"}, "flight_plan_id"),
        ({"group_by": "deployment"}, "group_by"),
        ({"deployment_id": NONEXISTENT}, "deployment_id"),
    ],
)
def test_bad_deployment_summary_query_is_refused(as_, factory, query, field):
    dep = factory.deployment()["deployment_id"]

    failure = error(as_("viewer").get(deployment_summary(dep), query_string=query), 422)

    assert list(failure["errors"]) == [field]


def test_summaries_need_a_token(client):
    error(client.get(SUMMARY), 401)
    error(client.get(deployment_summary(NONEXISTENT)), 401)
