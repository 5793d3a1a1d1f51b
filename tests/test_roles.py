"""viewer reads; pilot also writes; approver also reviews plans; admin all."""

import pytest

from tests.conftest import T0, T1, error, ok


@pytest.fixture
def ids(factory):
    dep, plan, (session,) = factory.flying()
    return {"dep": dep, "plan": plan, "sid": session["flight_session_id"]}


WRITES = [
    ("post", "/flight/deployments", {"name": "x"}),
    ("patch", "/flight/deployments/{dep}", {"name": "y"}),
    ("delete", "/flight/deployments/{dep}", None),
    ("post", "/flight/plans", {"deployment_id": "{dep}"}),
    ("patch", "/flight/plans/{plan}", {"description": "z"}),
    ("delete", "/flight/plans/{plan}", None),
    (
        "post",
        "/flight/deployments/{dep}/sessions",
        {"flight_plan_id": "{plan}", "start_date_time": T0, "end_date_time": T1},
    ),
    ("patch", "/flight/deployments/{dep}/sessions/{sid}", {"end_date_time": T1 + 1}),
    ("delete", "/flight/deployments/{dep}/sessions/{sid}", None),
]
READS = [
    "/flight/deployments",
    "/flight/deployments/{dep}",
    "/flight/plans",
    "/flight/plans/{plan}",
    "/flight/deployments/{dep}/sessions",
    "/flight/deployments/{dep}/sessions/{sid}",
]


def _fill(value, ids):
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value.format(**ids) if isinstance(value, str) else value


@pytest.mark.parametrize("method, path, body", WRITES)
def test_viewer_cannot_write(as_, ids, stored, method, path, body):
    before = stored("deployments", ids["dep"]), stored("flight_plans", ids["plan"])
    args = [_fill(path, ids)] + ([_fill(body, ids)] if body is not None else [])
    error(getattr(as_("viewer"), method)(*args), 403)
    assert (stored("deployments", ids["dep"]), stored("flight_plans", ids["plan"])) == (
        before
    )


@pytest.mark.parametrize("role", ["viewer", "pilot", "approver", "admin"])
@pytest.mark.parametrize("path", READS)
def test_every_role_reads(as_, ids, role, path):
    ok(as_(role).get(_fill(path, ids)))


def test_token_without_a_known_role_reads_nothing(as_, ids):
    error(as_(["guest"]).get("/flight/deployments"), 403)


@pytest.mark.parametrize("role", ["pilot", "approver", "admin"])
def test_writers_write_sessions(as_, ids, role):
    url = f"/flight/deployments/{ids['dep']}/sessions/{ids['sid']}"
    ok(as_(role).patch(url, {"end_date_time": T1 + 7}))


@pytest.mark.parametrize(
    "role, status", [("approver", 200), ("admin", 200), ("pilot", 403)]
)
def test_only_reviewers_approve(as_, factory, role, status):
    dep = factory.deployment()["deployment_id"]
    plan = factory.plan(dep, status="submitted")["flight_plan_id"]
    response = as_(role).patch(f"/flight/plans/{plan}", {"status": "approved"})
    assert response.status_code == status
