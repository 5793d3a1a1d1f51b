"""Generated requests against every route of the service's own OpenAPI document.

No answer may be a 500, and every answer must be one the document lists for
its route, in the documented envelope and schema. Examples are few and
derandomized, so the run is short and repeatable; a real ID is swapped in
for about half of the generated ones so that requests also reach the
stored data, not only the 404s.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import Caller, ok

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
ID_FIELDS = ("deployment_id", "flight_plan_id", "flight_session_id")
# Per route and mode; the whole file stays within about a minute.
MAX_EXAMPLES = 20


@pytest.fixture
def fuzz_app(make_app, token_for):
    """An app holding one deployment with an approved plan and a session."""
    app = make_app()
    admin = Caller(app.test_client(), token_for("admin"))
    dep = ok(admin.post("/flight/deployments", {"name": "Fuzzed"}))["deployment_id"]
    plan = ok(admin.post("/flight/plans", {"deployment_id": dep}))["flight_plan_id"]
    ok(admin.patch(f"/flight/plans/{plan}", {"status": "approved"}))
    body = {"flight_plan_id": plan, "start_date_time": 1527469200000}
    body["end_date_time"] = 1527479200000
    session = ok(admin.post(f"/flight/deployments/{dep}/sessions", body))
    app.config["FUZZ_IDS"] = {
        "deployment_id": dep,
        "flight_plan_id": plan,
        "flight_session_id": session["flight_session_id"],
    }
    app.config["FUZZ_TOKEN"] = admin.token
    return app


OPERATIONS = [
    "GET /health",
    "GET /ready",
    "GET /flight/deployments",
    "POST /flight/deployments",
    "GET /flight/deployments/{deployment_id}",
    "PATCH /flight/deployments/{deployment_id}",
    "DELETE /flight/deployments/{deployment_id}",
    "GET /flight/plans",
    "POST /flight/plans",
    "GET /flight/plans/{flight_plan_id}",
    "PATCH /flight/plans/{flight_plan_id}",
    "DELETE /flight/plans/{flight_plan_id}",
    "GET /flight/deployments/{deployment_id}/sessions",
    "POST /flight/deployments/{deployment_id}/sessions",
    "GET /flight/deployments/{deployment_id}/sessions/{flight_session_id}",
    "PATCH /flight/deployments/{deployment_id}/sessions/{flight_session_id}",
    "DELETE /flight/deployments/{deployment_id}/sessions/{flight_session_id}",
    "GET /flight/deployments/{deployment_id}/sessions/summary",
    "GET /flight/sessions",
    "GET /flight/sessions/summary",
]


def _real_id_for(value, real):
    """About half of the generated IDs, chosen by their own last digit."""
    if isinstance(value, str) and value[-1:] in "02468ace":
        return real
    return value


def _with_real_ids(case, ids):
    for name in ID_FIELDS:
        if name in (case.path_parameters or {}):
            case.path_parameters[name] = _real_id_for(
                case.path_parameters[name], ids[name]
            )
        if isinstance(case.body, dict) and name in case.body:
            case.body[name] = _real_id_for(case.body[name], ids[name])


def fuzz_schema(app):
    spec = schemathesis.openapi.from_wsgi("/openapi.json", app)
    # Every request carries a valid token (the token tests are elsewhere),
    # and unknown query parameters are ignored by design, so neither is
    # generated as a request the service should refuse.
    spec.config.generation.update(
        with_security_parameters=False, allow_extra_parameters=False
    )
    return spec


def test_every_route_of_the_document_is_fuzzed(fuzz_app):
    spec = fuzz_schema(fuzz_app)
    documented = {result.ok().label for result in spec.get_all_operations()}
    assert documented == set(OPERATIONS)


# The probes take no input at all, so there is nothing to make invalid.
RUNS = [(label, GenerationMode.POSITIVE) for label in OPERATIONS] + [
    (label, GenerationMode.NEGATIVE)
    for label in OPERATIONS
    if label not in ("GET /health", "GET /ready")
]


@pytest.mark.parametrize("label,mode", RUNS)
def test_route_answers_as_documented(fuzz_app, label, mode):
    spec = fuzz_schema(fuzz_app)
    method, path = label.split(" ", 1)
    operation = spec[path][method]
    ids = fuzz_app.config["FUZZ_IDS"]
    headers = {"Authorization": f"Bearer {fuzz_app.config['FUZZ_TOKEN']}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        if mode is GenerationMode.POSITIVE:
            _with_real_ids(case, ids)  # a negative case keeps its invalid IDs
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_document_lists_each_error_in_the_envelope(client):
    spec = client.get("/openapi.json").get_json()
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for label in OPERATIONS:
        method, path = label.split(" ", 1)
        operation = spec["paths"][path][method.lower()]
        responses = operation["responses"]
        expected = set()
        if path != "/health":
            expected.add("503")
        if operation.get("security") != []:
            expected |= {"401", "403"}
        if "{" in path:
            expected.add("404")
        if "requestBody" in operation:
            expected |= {"400", "413", "415", "422"}
        if method != "GET":
            expected.add("409")
        if method in ("PATCH", "DELETE"):
            expected.add("412")
        assert expected <= set(responses), label
        assert "default" not in responses and "500" not in responses, label
        for code in set(responses) - {"200", "304"}:
            ref = responses[code]["$ref"].rsplit("/", 1)[1]
            content = spec["components"]["responses"][ref]["content"]
            assert content["application/json"]["schema"] == envelope, (label, code)
