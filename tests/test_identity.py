"""Bearer tokens: what is accepted, and that everything else is a 401."""

import json
import time

import jwt
import pytest

from tests.conftest import COMPANY_A, error, ok


def _claims(**overrides):
    now = int(time.time())
    claims = {
        "sub": "user-a4",
        "company_id": COMPANY_A,
        "roles": ["admin"],
        "exp": now + 3600,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _unsigned(claims):
    header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    body = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    return f"{header}.{body}."


@pytest.fixture
def secret(app):
    return app.config["JWT_SECRET"]


def bad_tokens(secret):
    now = int(time.time())
    return {
        "alg none": _unsigned(_claims()),
        "other secret": jwt.encode(
            _claims(), "another-secret-of-enough-length-123", "HS256"
        ),
        "other algorithm": jwt.encode(_claims(), secret, "HS512"),
        "expired": jwt.encode(_claims(exp=now - 3600), secret, "HS256"),
        "not yet valid": jwt.encode(_claims(nbf=now + 3600), secret, "HS256"),
        "no exp": jwt.encode(_claims(exp=None), secret, "HS256"),
        "no company": jwt.encode(_claims(company_id=None), secret, "HS256"),
        "no roles": jwt.encode(_claims(roles=None), secret, "HS256"),
        "no sub": jwt.encode(_claims(sub=None), secret, "HS256"),
        "roles not a list": jwt.encode(_claims(roles="admin"), secret, "HS256"),
        "empty company": jwt.encode(_claims(company_id=""), secret, "HS256"),
        "garbage": "not.a.jwt",
    }


# The HS512 token is signed with our HS256 secret on purpose.
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize(
    "name",
    [
        "alg none",
        "other secret",
        "other algorithm",
        "expired",
        "not yet valid",
        "no exp",
        "no company",
        "no roles",
        "no sub",
        "roles not a list",
        "empty company",
        "garbage",
    ],
)
def test_bad_token_is_401(client, factory, stored, secret, name):
    dep, _, (session,) = factory.flying()
    token = bad_tokens(secret)[name]
    headers = {"Authorization": f"Bearer {token}"}
    before = stored("deployments", dep)

    url = f"/flight/deployments/{dep}/sessions"
    response = client.get(url, headers=headers)
    error(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    patched = client.patch(
        f"{url}/{session['flight_session_id']}",
        json={"end_date_time": 1527489200000},
        headers=headers,
    )
    error(patched, 401)
    assert stored("deployments", dep) == before


@pytest.mark.parametrize("header", ["Bearer ", "Bearer", "Basic dXNlcjpwYXNz", "token"])
def test_malformed_authorization_header_is_401(client, header):
    error(client.get("/flight/deployments", headers={"Authorization": header}), 401)


def test_good_token_reads(client, secret):
    token = jwt.encode(_claims(roles=["viewer"]), secret, "HS256")
    ok(client.get("/flight/deployments", headers={"Authorization": f"Bearer {token}"}))


def test_probes_and_docs_need_no_token(client):
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 200
    assert client.get("/openapi.json").status_code == 200
