"""Deployments: fields, validation, updates and deletion rules."""

import pytest

from tests.conftest import COMPANY_A, COMPANY_B, error, ok

FULL = {
    "name": "Marina Bay survey",
    "project_id": "proj-7",
    "purpose": ["mapping", "inspection"],
    "drones": ["drone-1", "drone-2"],
    "batteries": ["bat-1"],
    "cameras": ["cam-1"],
    "personnel": ["user-9"],
    "deployment_lead_id": "user-9",
    "deployment_area": {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [103.85, 1.28]},
                "properties": {},
            }
        ],
    },
    "start_date": 1527469200000,
    "end_date": 1527479200000,
    "status": "ready to fly",
}


def test_create_returns_every_field_with_server_ids(as_):
    data = ok(as_("pilot").post("/flight/deployments", FULL))
    assert len(data["deployment_id"]) == 32
    assert data["company_id"] == COMPANY_A
    for name, value in FULL.items():
        assert data[name] == value


def test_new_deployment_defaults(as_, stored):
    data = ok(as_("pilot").post("/flight/deployments", {"name": "Bare"}))
    assert data["status"] == "new"
    assert data["purpose"] == data["drones"] == []
    doc = stored("deployments", data["deployment_id"])
    assert doc["flight_sessions"] == [] and doc["company_id"] == COMPANY_A
    assert "flight_sessions" not in data


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": None}, "name"),
        ({"name": "x", "purpose": ["sightseeing"]}, "purpose"),
        ({"name": "x", "status": "flying"}, "status"),
        ({"name": "x", "drones": "drone-1"}, "drones"),
        ({"name": "x", "deployment_area": {"type": "Polygon"}}, "deployment_area"),
        (
            {"name": "x", "deployment_area": {"type": "FeatureCollection"}},
            "deployment_area",
        ),
        (
            {"name": "x", "start_date": 1527479200000, "end_date": 1527469200000},
            "end_date",
        ),
        ({"name": "x", "start_date": True}, "start_date"),
        ({"name": "x", "company_id": COMPANY_B}, "company_id"),
        ({"name": "x", "deployment_id": "0" * 32}, "deployment_id"),
        ({"name": "x", "flight_sessions": []}, "flight_sessions"),
    ],
    ids=repr,
)
def test_invalid_deployment_is_refused(as_, body, field):
    err = error(as_("pilot").post("/flight/deployments", body), 422)
    assert field in err["errors"]
    assert ok(as_("viewer").get("/flight/deployments")) == []


def test_unicode_names_round_trip(as_):
    name = "Ĵurong 東 🚁"
    assert ok(as_("pilot").post("/flight/deployments", {"name": name}))["name"] == name


def test_list_is_paginated_and_scoped(as_, factory):
    made = [factory.deployment(name=f"d{i}")["deployment_id"] for i in range(3)]
    factory.deployment(company=COMPANY_B)
    whole = [d["deployment_id"] for d in ok(as_("viewer").get("/flight/deployments"))]
    # Oldest first; two made in the same millisecond are ordered by ID.
    assert sorted(whole) == sorted(made)
    response = as_("viewer").get("/flight/deployments?page=1&page_size=2")
    assert [d["deployment_id"] for d in ok(response)] == whole[:2]
    assert '"total": 3' in response.headers["X-Pagination"]
    page2 = ok(as_("viewer").get("/flight/deployments?page=2&page_size=2"))
    assert [d["deployment_id"] for d in page2] == whole[2:]


def test_patch_changes_only_what_is_sent(as_, factory, stored):
    dep = factory.deployment(**FULL)["deployment_id"]
    data = ok(as_("pilot").patch(f"/flight/deployments/{dep}", {"name": "Renamed"}))
    assert data["name"] == "Renamed"
    assert data["drones"] == FULL["drones"]
    assert stored("deployments", dep)["name"] == "Renamed"


@pytest.mark.parametrize(
    "body", [{"start_date": 1527489200000}, {"end_date": 1527459200000}], ids=repr
)
def test_patch_of_one_date_keeps_the_range_in_order(as_, factory, stored, body):
    dep = factory.deployment(**FULL)["deployment_id"]
    before = stored("deployments", dep)
    err = error(as_("pilot").patch(f"/flight/deployments/{dep}", body), 422)
    assert set(body) <= set(err["errors"])
    assert stored("deployments", dep) == before


@pytest.mark.parametrize(
    "body",
    [{"company_id": COMPANY_B}, {"flight_sessions": []}, {"name": None}],
    ids=repr,
)
def test_patch_cannot_re_own_or_replace_sessions(as_, factory, stored, body):
    dep, _, _ = factory.flying(sessions=2)
    before = stored("deployments", dep)
    error(as_("admin").patch(f"/flight/deployments/{dep}", body), 422)
    assert stored("deployments", dep) == before
    ok(as_("viewer").get(f"/flight/deployments/{dep}"))
    error(as_("pilot", COMPANY_B).get(f"/flight/deployments/{dep}"), 404)


def test_delete_of_an_empty_deployment_takes_its_plans(as_, factory, stored):
    dep = factory.deployment()["deployment_id"]
    plan = factory.plan(dep)["flight_plan_id"]
    deleted = ok(as_("pilot").delete(f"/flight/deployments/{dep}"))
    assert deleted["deployment_id"] == dep
    assert stored("deployments", dep) is None
    assert stored("flight_plans", plan) is None
    error(as_("viewer").get(f"/flight/deployments/{dep}"), 404)


def test_delete_of_a_deployment_holding_sessions_is_refused(as_, factory, stored):
    dep, _, _ = factory.flying(sessions=2)
    before = stored("deployments", dep)
    err = error(as_("admin").delete(f"/flight/deployments/{dep}"), 409)
    assert "2 flight session" in err["message"]
    assert stored("deployments", dep) == before


def test_cascade_delete_needs_an_admin(as_, factory, stored):
    dep, plan, _ = factory.flying(sessions=2)
    error(as_("approver").delete(f"/flight/deployments/{dep}?cascade=true"), 403)
    assert len(stored("deployments", dep)["flight_sessions"]) == 2

    ok(as_("admin").delete(f"/flight/deployments/{dep}?cascade=true"))
    assert stored("deployments", dep) is None
    assert stored("flight_plans", plan) is None


def test_cascade_must_be_a_boolean(as_, factory):
    dep = factory.deployment()["deployment_id"]
    err = error(as_("admin").delete(f"/flight/deployments/{dep}?cascade=maybe"), 422)
    assert "cascade" in err["errors"]
