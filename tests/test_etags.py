"""ETags and If-Match: lost updates are refused, clients without If-Match still work."""

import pytest

from app import db
from app.deployments import store as deployments_store
from app.flight_plans import store as plans_store
from app.flight_sessions import store as sessions_store
from tests.conftest import T0, T1, error, ok


@pytest.fixture
def resources(factory):
    """URL, a valid PATCH body and a second one, for each kind of resource."""
    dep, _, sessions = factory.flying(sessions=1)
    session = sessions[0]["flight_session_id"]
    plan = factory.plan(dep)["flight_plan_id"]  # one no session flies
    return {
        "deployment": (f"/flight/deployments/{dep}", {"name": "v2"}, {"name": "v3"}),
        "plan": (f"/flight/plans/{plan}", {"description": "v2"}, {"description": "v3"}),
        "session": (
            f"/flight/deployments/{dep}/sessions/{session}",
            {"end_date_time": T1 + 1000},
            {"end_date_time": T1 + 2000},
        ),
    }


KINDS = ["deployment", "plan", "session"]


def etag_of(response):
    assert response.headers.get("ETag"), "no ETag on the response"
    return response.headers["ETag"]


@pytest.mark.parametrize("kind", KINDS)
def test_get_and_patch_answer_the_same_etag_and_it_changes_with_the_resource(
    as_, resources, kind
):
    url, change, _ = resources[kind]
    caller = as_("admin")
    before = etag_of(caller.get(url))

    patched = caller.patch(url, change)
    ok(patched)

    after = etag_of(caller.get(url))
    assert after != before
    assert etag_of(patched) == after
    assert etag_of(caller.get(url)) == after  # stable while unchanged


@pytest.mark.parametrize("kind", KINDS)
def test_write_without_if_match_is_not_refused(as_, resources, kind):
    # The published clients send no If-Match; 428 would lock them out.
    url, change, _ = resources[kind]
    assert as_("admin").patch(url, change).status_code == 200


@pytest.mark.parametrize("kind", KINDS)
def test_patch_with_stale_etag_answers_412_and_changes_nothing(as_, resources, kind):
    url, first, second = resources[kind]
    caller = as_("admin")
    e1 = etag_of(caller.get(url))

    e2 = etag_of(caller.patch(url, first, headers={"If-Match": e1}))
    assert e2 != e1
    current = ok(caller.get(url))

    error(caller.patch(url, second, headers={"If-Match": e1}), 412)
    assert ok(caller.get(url)) == current
    assert etag_of(caller.get(url)) == e2


@pytest.mark.parametrize("kind", KINDS)
def test_if_match_star_matches_any_version(as_, resources, kind):
    url, change, _ = resources[kind]
    ok(as_("admin").patch(url, change, headers={"If-Match": "*"}))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("header", ["", ", ,", ","])
def test_if_match_naming_no_tag_matches_nothing(as_, resources, kind, header):
    # Sent but empty is not the same as not sent: no version can match it.
    url, change, _ = resources[kind]
    caller = as_("admin")
    current = ok(caller.get(url))

    assert (
        "If-Match"
        in error(caller.patch(url, change, {"If-Match": header}), 412)["message"]
    )
    error(caller.delete(url, headers={"If-Match": header}), 412)
    assert ok(caller.get(url)) == current


@pytest.mark.parametrize("kind", KINDS)
def test_weak_etag_does_not_satisfy_if_match(as_, resources, kind):
    url, change, _ = resources[kind]
    caller = as_("admin")
    weak = "W/" + etag_of(caller.get(url))
    error(caller.patch(url, change, headers={"If-Match": weak}), 412)


def test_session_patch_and_delete_follow_case_12(as_, factory, stored):
    dep, plan, made = factory.flying(sessions=2)
    url = f"/flight/deployments/{dep}/sessions/{made[0]['flight_session_id']}"
    pilot = as_("pilot")

    ok(pilot.patch(url, {"end_date_time": 1527480000000}))
    throwaway = f"/flight/deployments/{dep}/sessions/{made[1]['flight_session_id']}"
    ok(pilot.delete(throwaway))

    e1 = etag_of(pilot.get(url))
    e2 = etag_of(pilot.patch(url, {"end_date_time": 1527481000000}, {"If-Match": e1}))
    assert e2 != e1
    error(pilot.patch(url, {"end_date_time": 1527482000000}, {"If-Match": e1}), 412)
    ok(pilot.patch(url, {"end_date_time": 1527483000000}, {"If-Match": "*"}))

    (element,) = stored("deployments", dep)["flight_sessions"]
    assert element["end_date_time"] == 1527483000000


@pytest.mark.parametrize(
    "change",
    [{"start_date_time": T1 + 1}, {"end_date_time": T0 - 1}],
    ids=["start-after-end", "end-before-start"],
)
@pytest.mark.parametrize("if_match", ["current", "*"])
def test_if_match_keeps_the_time_rule_of_a_one_sided_session_patch(
    as_, factory, stored, change, if_match
):
    dep, _, made = factory.flying(sessions=1)
    url = f"/flight/deployments/{dep}/sessions/{made[0]['flight_session_id']}"
    pilot = as_("pilot")
    tag = etag_of(pilot.get(url)) if if_match == "current" else "*"
    before = stored("deployments", dep)

    failure = error(pilot.patch(url, change, headers={"If-Match": tag}), 422)

    assert "before start_date_time" in failure["message"]
    assert stored("deployments", dep) == before
    if if_match == "current":
        # The tag still names the stored version: a valid change passes.
        assert etag_of(pilot.get(url)) == tag
        ok(pilot.patch(url, {"end_date_time": T1 + 1}, headers={"If-Match": tag}))


@pytest.mark.parametrize(
    "change",
    [{"start_date": T1 + 1}, {"end_date": T0 - 1}],
    ids=["start-after-end", "end-before-start"],
)
def test_if_match_keeps_the_date_rule_of_a_one_sided_deployment_patch(
    as_, factory, stored, change
):
    dep = factory.deployment(start_date=T0, end_date=T1)["deployment_id"]
    url = f"/flight/deployments/{dep}"
    caller = as_("admin")
    tag = etag_of(caller.get(url))
    before = stored("deployments", dep)

    error(caller.patch(url, change, headers={"If-Match": tag}), 422)

    assert stored("deployments", dep) == before


@pytest.mark.parametrize("kind", KINDS)
def test_delete_with_stale_etag_answers_412_and_keeps_the_resource(
    as_, resources, kind
):
    url, change, _ = resources[kind]
    if kind == "deployment":
        url += "?cascade=true"
    caller = as_("admin")
    stale = etag_of(caller.get(url))
    ok(caller.patch(url, change))

    error(caller.delete(url, headers={"If-Match": stale}), 412)
    ok(caller.get(url))

    fresh = etag_of(caller.get(url))
    ok(caller.delete(url, headers={"If-Match": fresh}))
    error(caller.get(url), 404)


def test_plan_kept_by_a_stale_delete_still_takes_new_sessions(as_, factory):
    dep = factory.deployment()["deployment_id"]
    plan = factory.plan(dep)["flight_plan_id"]
    url = f"/flight/plans/{plan}"
    stale = etag_of(as_("admin").get(url))
    # A new version that is still approved.
    ok(as_("approver").patch(url, {"description": "v2", "status": "approved"}))

    error(as_("admin").delete(url, headers={"If-Match": stale}), 412)

    factory.session(dep, plan)


def test_if_match_on_a_missing_resource_answers_404(as_, resources):
    url, change, _ = resources["session"]
    missing = url[:-32] + "0" * 32
    error(as_("admin").patch(missing, change, headers={"If-Match": "*"}), 404)


def test_get_with_current_etag_in_if_none_match_answers_304(as_, resources):
    url, _, _ = resources["session"]
    caller = as_("admin")
    etag = etag_of(caller.get(url))
    response = caller.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers["ETag"] == etag
    assert response.get_data() == b""


def test_if_none_match_compares_weakly(as_, resources):
    url, _, _ = resources["session"]
    caller = as_("admin")
    etag = etag_of(caller.get(url))
    weak = caller.get(url, headers={"If-None-Match": f'W/{etag}, "other"'})
    assert weak.status_code == 304
    assert caller.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


# A change landing between the If-Match check and the write must win: the
# write's own filter requires the stored resource to be the version checked.
# Each case wraps the store's write so that a competing change lands first.


def _change_session_directly(app, dep, session_id):
    with app.app_context():
        db.deployments().update_one(
            {"_id": dep, "flight_sessions.flight_session_id": session_id},
            {"$set": {"flight_sessions.$.end_date_time": T1 + 777}},
        )


@pytest.mark.parametrize("verb", ["patch", "delete"])
def test_session_changed_after_the_check_is_not_overwritten(
    app, as_, factory, stored, monkeypatch, verb
):
    dep, _, made = factory.flying(sessions=1)
    session_id = made[0]["flight_session_id"]
    url = f"/flight/deployments/{dep}/sessions/{session_id}"
    etag = etag_of(as_("pilot").get(url))
    name = "update_session" if verb == "patch" else "delete_session"
    real = getattr(sessions_store, name)

    def racing(*args, **kwargs):
        _change_session_directly(app, dep, session_id)
        return real(*args, **kwargs)

    monkeypatch.setattr(sessions_store, name, racing)
    caller = as_("pilot")
    if verb == "patch":
        response = caller.patch(url, {"start_date_time": T0 + 1}, {"If-Match": etag})
    else:
        response = caller.delete(url, headers={"If-Match": etag})

    error(response, 412)
    (element,) = stored("deployments", dep)["flight_sessions"]
    assert element["end_date_time"] == T1 + 777
    assert element["start_date_time"] == T0


@pytest.mark.parametrize("verb", ["patch", "delete"])
def test_deployment_changed_after_the_check_is_not_overwritten(
    app, as_, factory, stored, monkeypatch, verb
):
    dep = factory.deployment(name="v1")["deployment_id"]
    url = f"/flight/deployments/{dep}"
    etag = etag_of(as_("admin").get(url))
    name = "update_deployment" if verb == "patch" else "delete_deployment"
    real = getattr(deployments_store, name)

    def racing(*args, **kwargs):
        with app.app_context():
            db.deployments().update_one({"_id": dep}, {"$set": {"name": "theirs"}})
        return real(*args, **kwargs)

    monkeypatch.setattr(deployments_store, name, racing)
    caller = as_("admin")
    if verb == "patch":
        response = caller.patch(url, {"project_id": "p-1"}, {"If-Match": etag})
    else:
        response = caller.delete(url, headers={"If-Match": etag})

    error(response, 412)
    doc = stored("deployments", dep)
    assert doc["name"] == "theirs"
    assert "project_id" not in doc


@pytest.mark.parametrize("verb", ["patch", "delete"])
def test_plan_changed_after_the_check_is_not_overwritten(
    app, as_, factory, stored, monkeypatch, verb
):
    dep = factory.deployment()["deployment_id"]
    plan = factory.plan(dep, status="draft", description="v1")["flight_plan_id"]
    url = f"/flight/plans/{plan}"
    etag = etag_of(as_("admin").get(url))
    name = "update_plan" if verb == "patch" else "delete_plan"
    real = getattr(plans_store, name)

    def racing(*args, **kwargs):
        with app.app_context():
            db.flight_plans().update_one(
                {"_id": plan}, {"$set": {"description": "theirs"}}
            )
        return real(*args, **kwargs)

    monkeypatch.setattr(plans_store, name, racing)
    caller = as_("admin")
    if verb == "patch":
        response = caller.patch(url, {"drones": ["d-1"]}, {"If-Match": etag})
    else:
        response = caller.delete(url, headers={"If-Match": etag})

    error(response, 412)
    doc = stored("flight_plans", plan)
    assert doc["description"] == "theirs"
    assert doc["drones"] == []


def test_openapi_documents_if_match_as_optional_and_never_428(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["components"]["parameters"]["IF_MATCH"]["required"] is False
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert "428" not in operation["responses"], (method, path)
    by_id = spec["paths"][
        "/flight/deployments/{deployment_id}/sessions/{flight_session_id}"
    ]
    assert "412" in by_id["patch"]["responses"]
    assert "ETag" in by_id["get"]["responses"]["200"]["headers"]
