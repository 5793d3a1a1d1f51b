"""Bodies that are JSON in name only, or that MongoDB could not store."""

import io

import pytest

from app.flight_plans import store as plan_store
from tests.conftest import error, ok

AREA = {"type": "FeatureCollection", "features": []}


def feature(properties):
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": properties}],
    }


def nested(depth):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "raw",
    [
        '{"name": "x", "deployment_area": {"n": NaN}}',
        '{"name": "x", "project_id": Infinity}',
        '{"name": -Infinity}',
        "[" * 100_000 + "]" * 100_000,
        '{"name": "x", "n": ' + "9" * 5000 + "}",
        b'{"name": "\xff\xfe"}',
    ],
    ids=["nan", "infinity", "minus-infinity", "deep", "5000-digits", "not-utf8"],
)
def test_what_is_not_strict_json_is_400_and_stores_nothing(as_, raw):
    response = as_("admin").post(
        "/flight/deployments", data=raw, content_type="application/json"
    )
    assert "json" in error(response, 400)["errors"]
    assert ok(as_("viewer").get("/flight/deployments")) == []


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "\ud800"}, "name"),
        ({"name": "x", "deployment_area": feature({"\u0000": 1})}, "deployment_area"),
        ({"name": "x", "deployment_area": feature({"n": 2**63})}, "deployment_area"),
        (
            {"name": "x", "deployment_area": feature({"n": -(2**63) - 1})},
            "deployment_area",
        ),
        ({"name": "x", "deployment_area": feature({"$where": 1})}, "deployment_area"),
        ({"name": "x", "deployment_area": feature({"a.b": 1})}, "deployment_area"),
        (
            {"name": "x", "deployment_area": feature({"deep": nested(40)})},
            "deployment_area",
        ),
    ],
    ids=[
        "surrogate",
        "nul-key",
        "int64-over",
        "int64-under",
        "dollar-key",
        "dot-key",
        "deep",
    ],
)
def test_what_mongodb_cannot_store_is_422_naming_the_field(as_, body, field):
    err = error(as_("admin").post("/flight/deployments", body), 422)
    assert field in err["errors"]
    assert ok(as_("viewer").get("/flight/deployments")) == []


def test_int64_bounds_themselves_are_stored(as_):
    area = feature({"max": 2**63 - 1, "min": -(2**63)})
    data = ok(
        as_("admin").post("/flight/deployments", {"name": "x", "deployment_area": area})
    )
    assert data["deployment_area"] == area


def test_unstorable_plan_change_leaves_an_approved_plan_untouched(as_, factory, stored):
    dep, plan, _ = factory.flying(sessions=0)
    before = stored("flight_plans", plan)
    body = {"description": "rewritten", "drones": ["d"], "plan": {"rtl_path": 10**20}}
    error(as_("pilot").patch(f"/flight/plans/{plan}", body), 422)
    assert stored("flight_plans", plan) == before


def test_unstorable_deployment_change_saves_no_part_of_it(as_, factory, stored):
    dep = factory.deployment()["deployment_id"]
    before = stored("deployments", dep)
    body = {"name": "renamed", "project_id": "\ud800"}
    error(as_("pilot").patch(f"/flight/deployments/{dep}", body), 422)
    assert stored("deployments", dep) == before


class InvalidChunkSize(Exception):
    """Like gunicorn's: not an OSError, so werkzeug lets it through."""


class BrokenChunks(io.BytesIO):
    """What the server's reader does with a malformed chunk: it raises."""

    def read(self, *args):
        raise InvalidChunkSize("ZZ")

    readinto = readline = read


def test_malformed_chunked_body_is_400_not_500(as_, factory, stored):
    dep, plan, _ = factory.flying(sessions=0)
    response = as_("pilot").post(
        f"/flight/deployments/{dep}/sessions",
        input_stream=BrokenChunks(),
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert "chunked" in error(response, 400)["message"]
    assert stored("deployments", dep)["flight_sessions"] == []


@pytest.mark.parametrize(
    "path",
    ["//flight/deployments", "/flight//deployments", "/flight/deployments//{dep}"],
)
def test_double_slashes_are_not_found_not_redirected(as_, factory, path):
    dep = factory.deployment()["deployment_id"]
    response = as_("viewer").get(path.format(dep=dep))
    error(response, 404)
    assert "Location" not in response.headers


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("post", "/flight/deployments/{dep}/sessions", {"bad": 1}),
        ("post", "/flight/deployments", {}),
        ("patch", "/flight/plans/{plan}", {"nonsense": True}),
        ("delete", "/flight/deployments/{dep}?cascade=bogus", None),
    ],
)
def test_role_is_checked_before_the_body(as_, factory, method, path, body):
    dep, plan, _ = factory.flying(sessions=0)
    args = [path.format(dep=dep, plan=plan)] + ([body] if body is not None else [])
    error(getattr(as_("viewer"), method)(*args), 403)


def test_preflight_needs_no_token(client):
    response = client.options("/flight/deployments")
    assert response.status_code == 200
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["Allow"].split(",")}


def test_refused_deployment_delete_names_the_sessions_field(as_, factory):
    dep, _, _ = factory.flying(sessions=1)
    err = error(as_("pilot").delete(f"/flight/deployments/{dep}"), 409)
    assert err["errors"] == {"flight_sessions": ["1 flight session(s) remain."]}


def test_plan_patch_that_changes_nothing_keeps_the_audit_fields(as_, factory, stored):
    dep, plan, _ = factory.flying(sessions=0)
    before = stored("flight_plans", plan)
    ok(as_("pilot", user="someone-else").patch(f"/flight/plans/{plan}", {}))
    ok(
        as_("approver", user="someone-else").patch(
            f"/flight/plans/{plan}", {"status": "approved"}
        )
    )
    assert stored("flight_plans", plan) == before


def test_plan_created_as_its_deployment_is_deleted_does_not_survive(
    as_, factory, stored, monkeypatch, app
):
    dep = factory.deployment()["deployment_id"]
    insert = plan_store.insert_plan

    def insert_then_lose_the_deployment(company_id, user_id, fields):
        plan = insert(company_id, user_id, fields)
        ok(as_("pilot").delete(f"/flight/deployments/{dep}"))
        return plan

    monkeypatch.setattr(plan_store, "insert_plan", insert_then_lose_the_deployment)
    err = error(as_("pilot").post("/flight/plans", {"deployment_id": dep}), 422)
    assert "deployment_id" in err["errors"]
    monkeypatch.undo()
    assert ok(as_("viewer").get("/flight/plans")) == []
