"""Rules a flight session must satisfy, and what a refused write leaves."""

import pytest

from tests.conftest import COMPANY_B, T0, T1, error, ok


def sessions_url(dep):
    return f"/flight/deployments/{dep}/sessions"


# Bad times, and the seconds hint: tests/test_hostile_input.py (case 1).


def test_end_before_start_is_refused(as_, factory, stored):
    dep, plan, _ = factory.flying(sessions=0)
    body = {"flight_plan_id": plan, "start_date_time": T1, "end_date_time": T0}
    err = error(as_("pilot").post(sessions_url(dep), body), 422)
    assert "end_date_time" in err["errors"]
    assert stored("deployments", dep)["flight_sessions"] == []


def test_end_equal_to_start_is_a_valid_session(as_, factory):
    dep, plan, _ = factory.flying(sessions=0)
    body = {"flight_plan_id": plan, "start_date_time": T0, "end_date_time": T0}
    assert ok(as_("pilot").post(sessions_url(dep), body))["end_date_time"] == T0


@pytest.mark.parametrize(
    "missing", ["flight_plan_id", "start_date_time", "end_date_time"]
)
def test_each_documented_property_is_required_on_create(as_, factory, missing):
    dep, plan, _ = factory.flying(sessions=0)
    body = {"flight_plan_id": plan, "start_date_time": T0, "end_date_time": T1}
    del body[missing]
    assert missing in error(as_("pilot").post(sessions_url(dep), body), 422)["errors"]


@pytest.mark.parametrize("status", ["draft", "submitted", "rejected"])
def test_session_needs_an_approved_plan(as_, factory, stored, status):
    dep = factory.deployment()["deployment_id"]
    plan = factory.plan(dep, status=status)["flight_plan_id"]
    body = {"flight_plan_id": plan, "start_date_time": T0, "end_date_time": T1}
    err = error(as_("pilot").post(sessions_url(dep), body), 422)
    assert status in err["errors"]["flight_plan_id"][0]
    assert stored("deployments", dep)["flight_sessions"] == []


def test_plan_of_another_deployment_is_refused(as_, factory):
    dep_a = factory.deployment()["deployment_id"]
    dep_b = factory.deployment()["deployment_id"]
    plan_b = factory.plan(dep_b)["flight_plan_id"]
    body = {"flight_plan_id": plan_b, "start_date_time": T0, "end_date_time": T1}
    err = error(as_("pilot").post(sessions_url(dep_a), body), 422)
    assert "another deployment" in err["errors"]["flight_plan_id"][0]


def test_plan_of_another_company_reads_as_missing(as_, factory):
    dep = factory.deployment()["deployment_id"]
    foreign_dep = factory.deployment(company=COMPANY_B)["deployment_id"]
    foreign_plan = factory.plan(foreign_dep, company=COMPANY_B)["flight_plan_id"]
    body = {"flight_plan_id": foreign_plan, "start_date_time": T0, "end_date_time": T1}
    foreign = error(as_("pilot").post(sessions_url(dep), body), 422)
    body["flight_plan_id"] = "0" * 32
    missing = error(as_("pilot").post(sessions_url(dep), body), 422)
    assert foreign == missing


@pytest.mark.parametrize("bad_id", ["xyz", "0" * 31, "A" * 32, 42, None])
def test_malformed_plan_id_in_body_is_a_validation_error(as_, factory, bad_id):
    dep, _, _ = factory.flying(sessions=0)
    body = {"flight_plan_id": bad_id, "start_date_time": T0, "end_date_time": T1}
    assert (
        "flight_plan_id"
        in error(as_("pilot").post(sessions_url(dep), body), 422)["errors"]
    )


@pytest.mark.parametrize(
    "path",
    [
        "/flight/deployments/not-an-id/sessions",
        "/flight/deployments/{dep}/sessions/ABCDEF",
        "/flight/deployments/{dep}/sessions/{upper}",
    ],
)
def test_malformed_ids_in_path_are_simply_not_found(as_, factory, path):
    dep, _, (session,) = factory.flying()
    url = path.format(dep=dep, upper=session["flight_session_id"].upper())
    error(as_("viewer").get(url), 404)


class TestPartialPatchKeepsEndAfterStart:
    """The stored other side counts when a PATCH sends only one time."""

    def url(self, dep, session):
        return f"{sessions_url(dep)}/{session['flight_session_id']}"

    @pytest.mark.parametrize(
        "body",
        [
            {"start_date_time": 1527489200000},
            {"end_date_time": 1527459200000},
            {"end_date_time": "999999999999"},
            {"end_date_time": None},
            {"start_date_time": None},
            {"start_date_time": T1, "end_date_time": T0},
        ],
        ids=repr,
    )
    def test_refused_and_unchanged(self, as_, factory, stored, body):
        dep, _, (session,) = factory.flying()
        before = stored("deployments", dep)

        err = error(as_("pilot").patch(self.url(dep, session), body), 422)

        assert set(err["errors"]) & {"start_date_time", "end_date_time"}
        assert stored("deployments", dep) == before

    def test_end_equal_to_stored_start_is_accepted(self, as_, factory):
        dep, _, (session,) = factory.flying()
        sent = {"end_date_time": session["start_date_time"]}
        data = ok(as_("pilot").patch(self.url(dep, session), sent))
        assert data["end_date_time"] == session["start_date_time"]

    def test_digit_strings_are_stored_as_numbers(self, as_, factory, stored):
        dep, _, (session,) = factory.flying()
        body = {"start_date_time": "1527470000000", "end_date_time": "1527475000000"}
        data = ok(as_("pilot").patch(self.url(dep, session), body))
        assert (data["start_date_time"], data["end_date_time"]) == (
            1527470000000,
            1527475000000,
        )
        (element,) = stored("deployments", dep)["flight_sessions"]
        assert element["start_date_time"] == 1527470000000
        assert type(element["end_date_time"]) is int


class TestPatchCannotMoveOrRename:
    @pytest.mark.parametrize(
        "field", ["deployment_id", "flight_session_id", "end_time", "company_id"]
    )
    def test_field_outside_the_patchable_set_is_named(
        self, as_, factory, stored, field
    ):
        dep, _, (session,) = factory.flying()
        other = factory.deployment()["deployment_id"]
        before = stored("deployments", dep)

        url = f"{sessions_url(dep)}/{session['flight_session_id']}"
        err = error(as_("pilot").patch(url, {field: other}), 422)

        assert field in err["errors"]
        assert stored("deployments", dep) == before
        assert stored("deployments", other)["flight_sessions"] == []

    def test_post_naming_another_deployment_creates_nothing(self, as_, factory, stored):
        dep, plan, _ = factory.flying(sessions=0)
        other = factory.deployment()["deployment_id"]
        body = {
            "flight_plan_id": plan,
            "start_date_time": T0,
            "end_date_time": T1,
            "deployment_id": other,
        }
        err = error(as_("pilot").post(sessions_url(dep), body), 422)
        assert "deployment_id" in err["errors"]
        assert stored("deployments", dep)["flight_sessions"] == []
        assert stored("deployments", other)["flight_sessions"] == []


class TestTheBodyMayNameItsOwnDeployment:
    """The seed lists deployment_id among a session's properties."""

    def test_post_echoing_the_path_deployment_creates_the_session(
        self, as_, factory, stored
    ):
        dep, plan, _ = factory.flying(sessions=0)
        body = {
            "deployment_id": dep,
            "flight_plan_id": plan,
            "start_date_time": T0,
            "end_date_time": T1,
        }
        made = ok(as_("pilot").post(sessions_url(dep), body))
        assert made["deployment_id"] == dep
        (element,) = stored("deployments", dep)["flight_sessions"]
        assert element["flight_session_id"] == made["flight_session_id"]
        assert "deployment_id" not in element

    def test_patch_echoing_the_path_deployment_changes_the_rest(self, as_, factory):
        dep, _, (session,) = factory.flying()
        url = f"{sessions_url(dep)}/{session['flight_session_id']}"
        alone = ok(as_("pilot").patch(url, {"deployment_id": dep}))
        assert alone == session
        body = {**alone, "end_date_time": T1 + 1}
        del body["flight_session_id"]  # not a property a body may send
        changed = ok(as_("pilot").patch(url, body))
        assert changed == {**session, "end_date_time": T1 + 1}


def test_patch_to_an_unapproved_plan_is_refused(as_, factory, stored):
    dep, _, (session,) = factory.flying()
    draft = factory.plan(dep, status="draft")["flight_plan_id"]
    before = stored("deployments", dep)
    url = f"{sessions_url(dep)}/{session['flight_session_id']}"
    err = error(as_("pilot").patch(url, {"flight_plan_id": draft}), 422)
    assert "flight_plan_id" in err["errors"]
    assert stored("deployments", dep)["flight_sessions"] == before["flight_sessions"]


def test_patch_repeating_the_flown_plan_after_it_went_back_to_draft(
    as_, factory, stored
):
    # The published PATCH example sends the whole session, plan included;
    # a flown session keeps its plan even after the plan was edited.
    dep, plan, (session,) = factory.flying()
    ok(as_("pilot").patch(f"/flight/plans/{plan}", {"description": "edited"}))
    url = f"{sessions_url(dep)}/{session['flight_session_id']}"
    body = {"flight_plan_id": plan, "start_date_time": T0, "end_date_time": T1 + 1}

    got = ok(as_("pilot").patch(url, body))

    assert (got["flight_plan_id"], got["end_date_time"]) == (plan, T1 + 1)
    (element,) = stored("deployments", dep)["flight_sessions"]
    assert (element["flight_plan_id"], element["end_date_time"]) == (plan, T1 + 1)
    draft = factory.plan(dep, status="draft")["flight_plan_id"]
    error(as_("pilot").patch(url, {"flight_plan_id": draft}), 422)


def test_patch_to_another_approved_plan_of_the_deployment(as_, factory):
    dep, _, (session,) = factory.flying()
    second = factory.plan(dep)["flight_plan_id"]
    url = f"{sessions_url(dep)}/{session['flight_session_id']}"
    assert ok(as_("pilot").patch(url, {"flight_plan_id": second}))[
        "flight_plan_id"
    ] == (second)


def test_empty_patch_changes_nothing(as_, factory, stored):
    dep, _, (session,) = factory.flying()
    before = stored("deployments", dep)
    url = f"{sessions_url(dep)}/{session['flight_session_id']}"
    assert ok(as_("pilot").patch(url, {})) == session
    assert stored("deployments", dep) == before


def test_patch_touches_only_its_own_session(as_, factory, stored):
    dep, _, sessions = factory.flying(sessions=3)
    url = f"{sessions_url(dep)}/{sessions[1]['flight_session_id']}"
    ok(as_("pilot").patch(url, {"end_date_time": T1 + 999}))
    elements = stored("deployments", dep)["flight_sessions"]
    assert elements[1]["end_date_time"] == T1 + 999
    for i in (0, 2):
        assert elements[i]["end_date_time"] == sessions[i]["end_date_time"]


def test_delete_removes_only_its_own_session(as_, factory, stored):
    dep, _, sessions = factory.flying(sessions=3)
    url = f"{sessions_url(dep)}/{sessions[1]['flight_session_id']}"
    assert ok(as_("pilot").delete(url)) == sessions[1]
    left = [
        e["flight_session_id"] for e in stored("deployments", dep)["flight_sessions"]
    ]
    assert left == [sessions[0]["flight_session_id"], sessions[2]["flight_session_id"]]
    error(as_("pilot").delete(url), 404)


def test_full_deployment_answers_409_and_keeps_its_sessions(make_app):
    app = make_app(MAX_SESSIONS_PER_DEPLOYMENT=2)
    from app import auth

    token = auth.mint_token(app, "u", "company-a", ["admin"])
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    dep = client.post("/flight/deployments", json={"name": "x"}, headers=headers)
    dep = dep.get_json()["data"]["deployment_id"]
    plan = client.post(
        "/flight/plans", json={"deployment_id": dep}, headers=headers
    ).get_json()["data"]["flight_plan_id"]
    client.patch(f"/flight/plans/{plan}", json={"status": "approved"}, headers=headers)
    body = {"flight_plan_id": plan, "start_date_time": T0, "end_date_time": T1}
    url = sessions_url(dep)

    assert client.post(url, json=body, headers=headers).status_code == 200
    assert client.post(url, json=body, headers=headers).status_code == 200
    error(client.post(url, json=body, headers=headers), 409)

    assert len(ok(client.get(url, headers=headers))) == 2
