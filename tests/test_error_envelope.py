"""Every error, framework-raised ones included, comes in the JSON envelope."""

import json

import pytest

from tests.conftest import T0, T1, error, ok


def test_unknown_route_is_enveloped(as_):
    error(as_("pilot").get("/flight/no-such-route"), 404)


def test_json_even_when_html_is_asked_for(as_):
    response = as_("pilot").get(
        "/flight/deployments/0123456789abcdef0123456789abcdef/sessions",
        headers={"Accept": "text/html"},
    )
    error(response, 404)


def test_405_keeps_its_allow_header(as_, factory):
    dep, _, _ = factory.flying(sessions=0)
    response = as_("pilot").delete(f"/flight/deployments/{dep}/sessions")
    error(response, 405)
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed


def test_oversized_body_is_413_and_creates_nothing(as_):
    pad = "x" * (20 * 1024 * 1024)
    body = json.dumps(
        {"name": "big", "deployment_area": {"type": "FeatureCollection", "pad": pad}}
    )
    response = as_("admin").post(
        "/flight/deployments", data=body, content_type="application/json"
    )
    error(response, 413)
    assert ok(as_("viewer").get("/flight/deployments")) == []


@pytest.mark.parametrize(
    "data", ['{"flight_plan_id": ', "{'single': 1}", "[1, 2", "nul"], ids=repr
)
def test_malformed_json_is_400(as_, factory, stored, data):
    dep, _, _ = factory.flying(sessions=0)
    response = as_("pilot").post(
        f"/flight/deployments/{dep}/sessions",
        data=data,
        content_type="application/json",
    )
    assert "JSON" in error(response, 400)["message"]
    assert stored("deployments", dep)["flight_sessions"] == []


@pytest.mark.parametrize("data", ["[]", '"text"', "42", "null"], ids=repr)
def test_json_that_is_not_an_object_is_422(as_, factory, data):
    dep, _, _ = factory.flying(sessions=0)
    response = as_("pilot").post(
        f"/flight/deployments/{dep}/sessions",
        data=data,
        content_type="application/json",
    )
    error(response, 422)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded"]
)
def test_body_that_is_not_json_is_415(as_, factory, content_type):
    dep, plan, _ = factory.flying(sessions=0)
    body = json.dumps(
        {"flight_plan_id": plan, "start_date_time": T0, "end_date_time": T1}
    )
    response = as_("pilot").post(
        f"/flight/deployments/{dep}/sessions", data=body, content_type=content_type
    )
    error(response, 415)


def test_empty_body_is_400(as_, factory):
    dep, _, _ = factory.flying(sessions=0)
    response = as_("pilot").post(
        f"/flight/deployments/{dep}/sessions", data="", content_type="application/json"
    )
    assert "empty" in error(response, 400)["message"]


def test_missing_token_is_401_with_a_bearer_challenge(client):
    response = client.get("/flight/deployments")
    error(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_trailing_slash_does_not_redirect(as_, factory, stored):
    dep, plan, _ = factory.flying(sessions=0)
    body = {"flight_plan_id": plan, "start_date_time": T0, "end_date_time": T1}
    response = as_("pilot").post(f"/flight/deployments/{dep}/sessions/", body)
    assert response.status_code not in (301, 302, 307, 308)
    count = len(stored("deployments", dep)["flight_sessions"])
    assert (response.status_code, count) in ((200, 1), (404, 0))


def test_unexpected_error_is_a_generic_500_without_details(make_app, monkeypatch):
    app = make_app()
    app.config["TESTING"] = False  # Flask re-raises under TESTING
    from app import auth
    from app.deployments import store

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(store, "list_deployments", broken)
    token = auth.mint_token(app, "u", "company-a", ["viewer"])
    response = app.test_client().get(
        "/flight/deployments", headers={"Authorization": f"Bearer {token}"}
    )
    err = error(response, 500)
    assert "secret internals" not in response.get_data(as_text=True)
    assert err["status"] == "Internal Server Error"


def test_validation_message_names_the_field(as_, factory):
    dep, _, (session,) = factory.flying()
    url = f"/flight/deployments/{dep}/sessions/{session['flight_session_id']}"
    err = error(as_("pilot").patch(url, {"end_time": 1}), 422)
    assert err["errors"] == {"end_time": ["Unknown field."]}
    assert "end_time" in err["message"]
