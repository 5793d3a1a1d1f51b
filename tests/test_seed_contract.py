"""The published documentation's requests and responses, field by field."""

import re

from tests.conftest import T0, T1, ok

HEX32 = re.compile(r"[0-9a-f]{32}")
SESSION_FIELDS = [
    "flight_session_id",
    "flight_plan_id",
    "deployment_id",
    "start_date_time",
    "end_date_time",
]


def assert_documented_session(data, deployment_id, plan_id, start=T0, end=T1):
    assert list(data) == SESSION_FIELDS
    assert HEX32.fullmatch(data["flight_session_id"])
    assert data["flight_plan_id"] == plan_id
    assert data["deployment_id"] == deployment_id
    assert data["start_date_time"] == start and type(data["start_date_time"]) is int
    assert data["end_date_time"] == end and type(data["end_date_time"]) is int


def test_documented_lifecycle_of_a_session(as_, factory):
    dep, plan, _ = factory.flying(sessions=0)
    pilot = as_("pilot")
    url = f"/flight/deployments/{dep}/sessions"
    documented_body = {
        "flight_plan_id": plan,
        "start_date_time": 1527469200000,
        "end_date_time": 1527479200000,
    }

    created = ok(pilot.post(url, documented_body))
    assert_documented_session(created, dep, plan)
    sid = created["flight_session_id"]

    listed = pilot.get(url)
    assert listed.get_json() == {"success": True, "data": [created]}

    assert ok(pilot.get(f"{url}/{sid}")) == created

    patched = ok(pilot.patch(f"{url}/{sid}", {"end_date_time": 1527489200000}))
    assert_documented_session(patched, dep, plan, end=1527489200000)
    assert patched["flight_session_id"] == sid

    deleted = ok(pilot.delete(f"{url}/{sid}"))
    assert deleted == patched
    assert ok(pilot.get(url)) == []


def test_patch_sample_body_with_all_three_properties_is_accepted(as_, factory):
    dep, plan, (session,) = factory.flying()
    url = f"/flight/deployments/{dep}/sessions/{session['flight_session_id']}"
    body = {"flight_plan_id": plan, "start_date_time": T0, "end_date_time": T1 + 5}
    assert ok(as_("pilot").patch(url, body))["end_date_time"] == T1 + 5


def test_create_answers_200_not_201(as_, factory):
    dep, plan, _ = factory.flying(sessions=0)
    body = {"flight_plan_id": plan, "start_date_time": T0, "end_date_time": T1}
    response = as_("pilot").post(f"/flight/deployments/{dep}/sessions", body)
    assert response.status_code == 200


def test_digit_strings_are_accepted_and_answered_as_numbers(as_, factory, stored):
    dep, plan, _ = factory.flying(sessions=0)
    body = {
        "flight_plan_id": plan,
        "start_date_time": str(T0),
        "end_date_time": str(T1),
    }
    data = ok(as_("pilot").post(f"/flight/deployments/{dep}/sessions", body))
    assert_documented_session(data, dep, plan)

    (element,) = stored("deployments", dep)["flight_sessions"]
    assert type(element["start_date_time"]) is int
    assert type(element["end_date_time"]) is int


def test_sessions_are_stored_embedded_in_their_deployment(factory, stored):
    dep, plan, sessions = factory.flying(sessions=2)
    doc = stored("deployments", dep)
    ids = [e["flight_session_id"] for e in doc["flight_sessions"]]
    assert ids == [s["flight_session_id"] for s in sessions]
    assert all(e["flight_plan_id"] == plan for e in doc["flight_sessions"])
    assert doc["_id"] == dep and HEX32.fullmatch(doc["_id"])


def test_list_keeps_creation_order(as_, factory):
    dep, plan, _ = factory.flying(sessions=0)
    made = [factory.session(dep, plan, start=T0 - i * 1000, end=T1) for i in range(3)]
    listed = ok(as_("viewer").get(f"/flight/deployments/{dep}/sessions"))
    assert [s["flight_session_id"] for s in listed] == [
        s["flight_session_id"] for s in made
    ]
