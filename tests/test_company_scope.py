"""Another company's data answers exactly like data that does not exist."""

import pytest

from tests.conftest import COMPANY_B, T0, T1, error, ok

NONEXISTENT = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def world(factory):
    """A's two deployments with sessions, B's deployment with one."""
    dep_a1, plan_a1, (s_a1,) = factory.flying()
    dep_a2, _, (s_a2x,) = factory.flying()
    dep_b1, plan_b1, (s_b1,) = factory.flying(company=COMPANY_B)
    return {
        "DEP_A1": dep_a1,
        "PLAN_A1": plan_a1,
        "S_A1": s_a1["flight_session_id"],
        "DEP_A2": dep_a2,
        "S_A2X": s_a2x["flight_session_id"],
        "DEP_B1": dep_b1,
        "PLAN_B1": plan_b1,
        "S_B1": s_b1["flight_session_id"],
    }


PATCH = {"end_date_time": 1527489200000}
SESSION_BODY = {
    "flight_plan_id": "{PLAN_A1}",
    "start_date_time": T0,
    "end_date_time": T1,
}

# (method, path template, body, which ID to swap for a nonexistent one)
FOREIGN_REQUESTS = [
    ("get", "/flight/deployments/{DEP_B1}/sessions", None, "DEP_B1"),
    ("get", "/flight/deployments/{DEP_B1}/sessions/{S_B1}", None, "DEP_B1"),
    ("patch", "/flight/deployments/{DEP_B1}/sessions/{S_B1}", PATCH, "DEP_B1"),
    ("delete", "/flight/deployments/{DEP_B1}/sessions/{S_B1}", None, "DEP_B1"),
    ("get", "/flight/deployments/{DEP_B1}/sessions/{S_B1}", None, "S_B1"),
    ("patch", "/flight/deployments/{DEP_B1}/sessions/{S_B1}", PATCH, "S_B1"),
    ("delete", "/flight/deployments/{DEP_B1}/sessions/{S_B1}", None, "S_B1"),
    ("post", "/flight/deployments/{DEP_B1}/sessions", SESSION_BODY, "DEP_B1"),
    ("get", "/flight/deployments/{DEP_B1}/sessions/summary", None, "DEP_B1"),
    ("get", "/flight/deployments/{DEP_A1}/sessions/{S_B1}", None, "S_B1"),
    ("patch", "/flight/deployments/{DEP_A1}/sessions/{S_B1}", PATCH, "S_B1"),
    ("delete", "/flight/deployments/{DEP_A1}/sessions/{S_B1}", None, "S_B1"),
    ("get", "/flight/deployments/{DEP_A1}/sessions/{S_A2X}", None, "S_A2X"),
    ("patch", "/flight/deployments/{DEP_A1}/sessions/{S_A2X}", PATCH, "S_A2X"),
    ("delete", "/flight/deployments/{DEP_A1}/sessions/{S_A2X}", None, "S_A2X"),
    ("get", "/flight/deployments/{DEP_B1}", None, "DEP_B1"),
    ("patch", "/flight/deployments/{DEP_B1}", {"name": "mine"}, "DEP_B1"),
    ("delete", "/flight/deployments/{DEP_B1}", None, "DEP_B1"),
    ("get", "/flight/plans/{PLAN_B1}", None, "PLAN_B1"),
    ("patch", "/flight/plans/{PLAN_B1}", {"description": "mine"}, "PLAN_B1"),
    ("delete", "/flight/plans/{PLAN_B1}", None, "PLAN_B1"),
]


def _fill(template, ids):
    if isinstance(template, dict):
        return {k: _fill(v, ids) for k, v in template.items()}
    if isinstance(template, str):
        return template.format(**ids)
    return template


@pytest.mark.parametrize("method, path, body, swap", FOREIGN_REQUESTS)
def test_foreign_id_is_404_like_a_missing_one(
    as_, world, stored, method, path, body, swap
):
    caller = as_("admin")
    snapshot = {
        k: stored("deployments", world[k]) for k in ("DEP_A1", "DEP_A2", "DEP_B1")
    }
    plan_b1 = stored("flight_plans", world["PLAN_B1"])

    def send(ids):
        args = [_fill(path, ids)]
        if body is not None:
            args.append(_fill(body, ids))
        return getattr(caller, method)(*args)

    foreign = error(send(world), 404)
    missing = error(send({**world, swap: NONEXISTENT}), 404)

    assert foreign["message"] == missing["message"]
    for key, doc in snapshot.items():
        assert stored("deployments", world[key]) == doc
    assert stored("flight_plans", world["PLAN_B1"]) == plan_b1


def test_lists_show_only_the_callers_company(as_, world):
    deployments = ok(as_("viewer").get("/flight/deployments"))
    assert {d["deployment_id"] for d in deployments} == {
        world["DEP_A1"],
        world["DEP_A2"],
    }
    plans = ok(as_("viewer").get("/flight/plans"))
    assert world["PLAN_B1"] not in {p["flight_plan_id"] for p in plans}
    foreign_filter = ok(
        as_("viewer").get(f"/flight/plans?deployment_id={world['DEP_B1']}")
    )
    assert foreign_filter == []


def test_company_b_sees_its_own_data(as_, world):
    caller = as_("viewer", COMPANY_B)
    listed = ok(caller.get(f"/flight/deployments/{world['DEP_B1']}/sessions"))
    assert [s["flight_session_id"] for s in listed] == [world["S_B1"]]
    error(caller.get(f"/flight/deployments/{world['DEP_A1']}/sessions"), 404)
