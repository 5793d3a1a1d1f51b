"""The command-line tools and the OpenAPI document."""

import jwt
import pytest

from tests.conftest import ok


def test_token_command_mints_a_working_token(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["token", "--company", "acme", "--roles", "pilot,approver", "--user", "u7"]
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    claims = jwt.decode(token, app.config["JWT_SECRET"], algorithms=["HS256"])
    assert (claims["sub"], claims["company_id"], claims["roles"]) == (
        "u7",
        "acme",
        ["pilot", "approver"],
    )
    headers = {"Authorization": f"Bearer {token}"}
    created = ok(
        client.post("/flight/deployments", json={"name": "x"}, headers=headers)
    )
    assert created["company_id"] == "acme"


def test_token_command_refuses_unknown_roles(app):
    result = app.test_cli_runner().invoke(
        args=["token", "--company", "a", "--roles", "root"]
    )
    assert result.exit_code != 0
    assert "root" in result.output


def test_indexes_command_is_idempotent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["indexes", "create"])
    second = runner.invoke(args=["indexes", "create"])
    assert first.exit_code == second.exit_code == 0
    assert first.output == second.output
    assert "deployments: company_id_1_created_at_1" in first.output


def test_index_commands_say_when_they_work_on_their_own_embedded_store(app):
    if not app.extensions["flight_db"].embedded:
        pytest.skip("only the embedded store is private to the command")
    result = app.test_cli_runner().invoke(args=["indexes", "list"])
    assert result.exit_code == 0
    assert "MONGODB_URI is not set" in result.output


def test_openapi_documents_every_route_with_examples(client, app):
    spec = client.get("/openapi.json").get_json()
    routes = {
        (rule.rule, method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] not in ("static", "api-docs")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {
        (path, method)
        for path, operations in spec["paths"].items()
        for method in operations
        if method != "parameters"
    }
    as_flask = {(p.replace("{", "<id:").replace("}", ">"), m) for p, m in documented}
    assert routes == as_flask

    session = spec["components"]["schemas"]["FlightSession"]["properties"]
    assert session["start_date_time"]["example"] == 1527469200000
    assert set(session) == {
        "flight_session_id",
        "flight_plan_id",
        "deployment_id",
        "start_date_time",
        "end_date_time",
    }
    envelope = spec["components"]["schemas"]["FlightSessionEnvelope"]["properties"]
    assert set(envelope) == {"success", "data"}
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_interactive_docs_page_is_served(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert b"swagger" in response.data.lower()


def test_session_routes_carry_the_documented_examples(client):
    from app.flight_sessions.schemas import CREATE_EXAMPLE, ONE_EXAMPLE

    spec = client.get("/openapi.json").get_json()
    path = spec["paths"]["/flight/deployments/{deployment_id}/sessions"]
    body = path["post"]["requestBody"]["content"]["application/json"]
    assert body["example"] == CREATE_EXAMPLE
    answer = path["post"]["responses"]["200"]["content"]["application/json"]
    assert answer["example"] == ONE_EXAMPLE
