"""Writes racing each other on one deployment: nothing lost, nothing inverted.

Each request runs in its own thread with its own test client; with
MONGODB_URI set the same races run against that server.
"""

from tests.conftest import T0, error, ok
from tests.threads import parallel


def bearer(caller):
    return {"Authorization": f"Bearer {caller.token}"}


def test_parallel_creates_and_deployment_patches_lose_nothing(
    app, as_, factory, stored
):
    # Case 14, part A.1.
    dep, plan, made = factory.flying(sessions=1)
    pilot, admin = bearer(as_("pilot")), bearer(as_("admin"))
    url = f"/flight/deployments/{dep}/sessions"
    names = [f"Site A1 rev {i}" for i in range(5)]
    calls = [
        lambda c, i=i: c.post(
            url,
            json={
                "flight_plan_id": plan,
                "start_date_time": T0 + i * 100_000,
                "end_date_time": T0 + i * 100_000 + 50_000,
            },
            headers=pilot,
        )
        for i in range(20)
    ] + [
        lambda c, name=name: c.patch(
            f"/flight/deployments/{dep}", json={"name": name}, headers=admin
        )
        for name in names
    ]

    answers = parallel(app, calls)

    assert [a.status_code for a in answers] == [200] * 25
    new_ids = [ok(a)["flight_session_id"] for a in answers[:20]]
    listed = [s["flight_session_id"] for s in ok(as_("viewer").get(url))]
    assert sorted(listed) == sorted([made[0]["flight_session_id"], *new_ids])
    assert len(set(listed)) == 21
    doc = stored("deployments", dep)
    assert doc["name"] in names
    assert len(doc["flight_sessions"]) == 21
    assert all(
        e["end_date_time"] >= e["start_date_time"] for e in doc["flight_sessions"]
    )


def test_many_parallel_creates_are_all_stored_once(app, as_, factory, stored):
    dep, plan, _ = factory.flying(sessions=0)
    pilot = bearer(as_("pilot"))
    url = f"/flight/deployments/{dep}/sessions"
    calls = [
        lambda c, i=i: c.post(
            url,
            json={
                "flight_plan_id": plan,
                "start_date_time": T0 + i,
                "end_date_time": T0 + i,
            },
            headers=pilot,
        )
        for i in range(40)
    ]

    answers = parallel(app, calls)

    created = sorted(ok(a)["start_date_time"] for a in answers)
    assert created == [T0 + i for i in range(40)]
    stored_times = sorted(
        e["start_date_time"] for e in stored("deployments", dep)["flight_sessions"]
    )
    assert stored_times == created


def test_one_sided_patches_racing_never_invert_the_range(app, as_, factory, stored):
    # Case 14, part A.2: each PATCH is valid alone, not after the other.
    dep, _, made = factory.flying(sessions=1)
    url = f"/flight/deployments/{dep}/sessions/{made[0]['flight_session_id']}"
    pilot = as_("pilot")
    headers = bearer(pilot)
    calls = [
        lambda c: c.patch(
            url, json={"start_date_time": 1527474000000}, headers=headers
        ),
        lambda c: c.patch(url, json={"end_date_time": 1527470000000}, headers=headers),
    ]

    for round_ in range(30):
        reset = {"start_date_time": 1527469200000, "end_date_time": 1527475000000}
        ok(pilot.patch(url, reset))

        answers = parallel(app, calls)

        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200, 422], round_
        error(next(a for a in answers if a.status_code == 422), 422)
        (element,) = stored("deployments", dep)["flight_sessions"]
        assert element["end_date_time"] >= element["start_date_time"], round_


def test_patch_and_delete_racing_leave_a_consistent_result(app, as_, factory, stored):
    dep, plan, _ = factory.flying(sessions=0)
    pilot = as_("pilot")
    headers = bearer(pilot)
    for round_ in range(20):
        session = factory.session(dep, plan)["flight_session_id"]
        url = f"/flight/deployments/{dep}/sessions/{session}"
        calls = [
            lambda c, url=url: c.patch(
                url, json={"end_date_time": T0 + 7_000_000}, headers=headers
            ),
            lambda c, url=url: c.delete(url, headers=headers),
        ]

        patched, deleted = parallel(app, calls)

        # The delete always finds the session; the patch lands before it
        # (and the delete answers the patched session) or finds it gone.
        removed = ok(deleted)
        if patched.status_code == 200:
            assert ok(patched)["end_date_time"] == T0 + 7_000_000
        else:
            error(patched, 404)
        assert removed["flight_session_id"] == session
        ids = [
            e["flight_session_id"]
            for e in stored("deployments", dep)["flight_sessions"]
        ]
        assert session not in ids, round_
        error(pilot.get(url), 404)


def test_racing_deletes_of_one_session_succeed_once(app, as_, factory, stored):
    dep, plan, _ = factory.flying(sessions=0)
    session = factory.session(dep, plan)["flight_session_id"]
    url = f"/flight/deployments/{dep}/sessions/{session}"
    headers = bearer(as_("pilot"))

    answers = parallel(app, [lambda c: c.delete(url, headers=headers)] * 6)

    assert sorted(a.status_code for a in answers) == [200] + [404] * 5
    assert stored("deployments", dep)["flight_sessions"] == []


def test_racing_if_match_patches_let_exactly_one_through(app, as_, factory, stored):
    dep, _, made = factory.flying(sessions=1)
    url = f"/flight/deployments/{dep}/sessions/{made[0]['flight_session_id']}"
    pilot = as_("pilot")
    etag = pilot.get(url).headers["ETag"]
    headers = {**bearer(pilot), "If-Match": etag}
    calls = [
        lambda c, i=i: c.patch(
            url, json={"end_date_time": T0 + i * 1000}, headers=headers
        )
        for i in range(1, 7)
    ]

    answers = parallel(app, calls)

    assert sorted(a.status_code for a in answers) == [200] + [412] * 5
    winner = ok(next(a for a in answers if a.status_code == 200))
    (element,) = stored("deployments", dep)["flight_sessions"]
    assert element["end_date_time"] == winner["end_date_time"]
