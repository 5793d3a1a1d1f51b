"""Flight plans: creation, review, content changes and deletion."""

import time

import pytest

from tests.conftest import COMPANY_B, error, ok

PLAN_BODY = {
    "commands": [{"command": "TAKEOFF", "alt": 30}],
    "home_location": {"lat": 1.28, "lng": 103.85},
    "rtl_path": [],
}


def test_new_plan_starts_as_draft_and_is_stamped(as_, factory, stored):
    dep = factory.deployment()["deployment_id"]
    before_ms = time.time_ns() // 1_000_000
    data = ok(
        as_("pilot", user="user-p").post(
            "/flight/plans", {"deployment_id": dep, "plan": PLAN_BODY, "drones": ["d1"]}
        )
    )
    assert data["status"] == "draft"
    assert data["plan_type"] == "ardupilot"
    assert data["plan"] == PLAN_BODY
    assert data["last_modified_by"] == "user-p"
    assert abs(data["last_modified_date"] - before_ms) < 5000
    doc = stored("flight_plans", data["flight_plan_id"])
    assert type(doc["last_modified_date"]) is int


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "deployment_id"),
        ({"deployment_id": "nope"}, "deployment_id"),
        ({"deployment_id": "0" * 32}, "deployment_id"),
        ({"deployment_id": "{dep}", "status": "approved"}, "status"),
        ({"deployment_id": "{dep}", "plan_type": "px4"}, "plan_type"),
        ({"deployment_id": "{dep}", "last_modified_by": "x"}, "last_modified_by"),
        ({"deployment_id": "{dep}", "plan": {"waypoints": []}}, "plan"),
    ],
    ids=repr,
)
def test_invalid_plan_is_refused(as_, factory, body, field):
    dep = factory.deployment()["deployment_id"]
    body = {
        k: (v.format(dep=dep) if isinstance(v, str) else v) for k, v in body.items()
    }
    err = error(as_("pilot").post("/flight/plans", body), 422)
    assert field in err["errors"]
    assert ok(as_("viewer").get("/flight/plans")) == []


def test_plan_on_another_companys_deployment_is_refused(as_, factory):
    foreign = factory.deployment(company=COMPANY_B)["deployment_id"]
    err = error(as_("pilot").post("/flight/plans", {"deployment_id": foreign}), 422)
    assert "deployment_id" in err["errors"]


def test_list_filters_by_deployment(as_, factory):
    dep1 = factory.deployment()["deployment_id"]
    dep2 = factory.deployment()["deployment_id"]
    p1 = factory.plan(dep1)["flight_plan_id"]
    factory.plan(dep2)
    listed = ok(as_("viewer").get(f"/flight/plans?deployment_id={dep1}"))
    assert [p["flight_plan_id"] for p in listed] == [p1]
    assert len(ok(as_("viewer").get("/flight/plans"))) == 2
    error(as_("viewer").get("/flight/plans?deployment_id=zzz"), 422)


class TestReview:
    def test_pilot_cannot_approve(self, as_, factory, stored):
        dep = factory.deployment()["deployment_id"]
        plan = factory.plan(dep, status="submitted")["flight_plan_id"]
        for status in ("approved", "rejected"):
            error(as_("pilot").patch(f"/flight/plans/{plan}", {"status": status}), 403)
        assert stored("flight_plans", plan)["status"] == "submitted"

    def test_approver_approves_and_is_recorded(self, as_, factory, stored):
        dep = factory.deployment()["deployment_id"]
        plan = factory.plan(dep, status="submitted")["flight_plan_id"]
        approver = as_("approver", user="user-a3")
        data = ok(approver.patch(f"/flight/plans/{plan}", {"status": "approved"}))
        assert data["status"] == "approved"
        assert data["last_modified_by"] == "user-a3"
        assert stored("flight_plans", plan)["last_modified_by"] == "user-a3"

    def test_pilot_may_submit(self, as_, factory):
        dep = factory.deployment()["deployment_id"]
        plan = factory.plan(dep, status="draft")["flight_plan_id"]
        data = ok(as_("pilot").patch(f"/flight/plans/{plan}", {"status": "submitted"}))
        assert data["status"] == "submitted"

    @pytest.mark.parametrize(
        "change",
        [{"description": "v2"}, {"plan": PLAN_BODY}, {"drones": ["d9"]}],
        ids=repr,
    )
    def test_changed_content_sends_an_approved_plan_back_to_draft(
        self, as_, factory, change
    ):
        dep, plan, (session,) = factory.flying()
        data = ok(as_("pilot").patch(f"/flight/plans/{plan}", change))
        assert data["status"] == "draft"
        # The session already flown keeps its plan.
        url = f"/flight/deployments/{dep}/sessions/{session['flight_session_id']}"
        assert ok(as_("viewer").get(url))["flight_plan_id"] == plan

    def test_content_sent_as_it_is_keeps_an_approved_plan_approved(
        self, as_, factory, stored
    ):
        dep, plan, _ = factory.flying(sessions=0)
        url = f"/flight/plans/{plan}"
        ok(as_("pilot").patch(url, {"plan": PLAN_BODY, "drones": ["d1"]}))
        ok(as_("approver").patch(url, {"status": "approved"}))
        current = ok(as_("viewer").get(url))
        before = stored("flight_plans", plan)

        same = {k: current[k] for k in ("description", "plan", "drones", "plan_type")}
        assert ok(as_("pilot").patch(url, same)) == current

        assert stored("flight_plans", plan) == before
        factory.session(dep, plan)  # still approved, so still flyable
        changed = ok(as_("pilot").patch(url, {**same, "drones": ["d1", "d2"]}))
        assert changed["status"] == "draft"

    def test_server_fields_cannot_be_written(self, as_, factory, stored):
        dep = factory.deployment()["deployment_id"]
        plan = factory.plan(dep, status="submitted")["flight_plan_id"]
        body = {
            "description": "v2",
            "last_modified_by": "someone",
            "last_modified_date": 0,
        }
        err = error(as_("approver").patch(f"/flight/plans/{plan}", body), 422)
        assert {"last_modified_by", "last_modified_date"} <= set(err["errors"])
        assert stored("flight_plans", plan)["description"] == "test plan"

    def test_plan_cannot_move_to_another_deployment(self, as_, factory, stored):
        dep, plan, _ = factory.flying(sessions=0)
        other = factory.deployment()["deployment_id"]
        body = {"deployment_id": other}
        assert (
            "deployment_id"
            in error(as_("admin").patch(f"/flight/plans/{plan}", body), 422)["errors"]
        )
        assert stored("flight_plans", plan)["deployment_id"] == dep


def test_plan_used_by_sessions_cannot_be_deleted(as_, factory, stored):
    dep, plan, _ = factory.flying(sessions=3)
    err = error(as_("admin").delete(f"/flight/plans/{plan}"), 409)
    assert "3 flight session" in err["message"]
    assert stored("flight_plans", plan) is not None


def test_unused_plan_is_deleted_and_returned(as_, factory, stored):
    dep = factory.deployment()["deployment_id"]
    plan = factory.plan(dep)["flight_plan_id"]
    assert ok(as_("pilot").delete(f"/flight/plans/{plan}"))["flight_plan_id"] == plan
    assert stored("flight_plans", plan) is None
    error(as_("pilot").delete(f"/flight/plans/{plan}"), 404)


def test_modified_date_is_utc_epoch_ms_whatever_the_server_zone(
    as_, factory, stored, monkeypatch
):
    monkeypatch.setenv("TZ", "Asia/Singapore")
    time.tzset()
    try:
        dep = factory.deployment()["deployment_id"]
        plan = factory.plan(dep, status="submitted")["flight_plan_id"]
        data = ok(
            as_("approver", user="user-a3").patch(
                f"/flight/plans/{plan}", {"description": "v2"}
            )
        )
        now_ms = time.time_ns() // 1_000_000
        assert abs(data["last_modified_date"] - now_ms) <= 5000
        assert type(stored("flight_plans", plan)["last_modified_date"]) is int
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
