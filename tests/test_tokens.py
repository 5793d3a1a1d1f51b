"""Bearer tokens: the shared secret (HS256) and the provider's keys (RS256)."""

import base64
import hashlib
import hmac
import json
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app import auth
from config import TestConfig
from tests.conftest import COMPANY_A, T1, error, ok
from tests.test_process import free_port

ISSUER = "https://idp.test/"
AUDIENCE = "flight-session-service"
KID = "key-1"
SECRET = TestConfig.JWT_SECRET


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk_of(private_key, kid=KID, **extra):
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256", **extra}


class KeySet(ThreadingHTTPServer):
    """The identity provider's JWKS endpoint, counting how often it is read."""

    def __init__(self, body):
        super().__init__(("127.0.0.1", 0), _KeySetHandler)
        self.body, self.status, self.hits = body, 200, 0
        threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/.well-known/jwks.json"


class _KeySetHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.hits += 1
        body = self.server.body
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def key_set(rsa_key):
    server = KeySet({"keys": [jwk_of(rsa_key)]})
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def app(make_app, key_set):
    """Both key sources: the test secret and the provider's key set."""
    return make_app(JWT_JWKS_URL=key_set.url, JWT_ISSUER=ISSUER, JWT_AUDIENCE=AUDIENCE)


def claims(roles=("admin",), **changes):
    """Admin claims of company A; a change to None leaves that claim out."""
    now = int(time.time())
    base = {
        "sub": "user-a4",
        "company_id": COMPANY_A,
        "roles": roles if roles is None or isinstance(roles, str) else list(roles),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 3600,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def provider_token(key, headers=None, algorithm="RS256", **changes):
    return jwt.encode(
        claims(**changes),
        key,
        algorithm=algorithm,
        headers={"kid": KID, **(headers or {})},
    )


def secret_token(key=SECRET, algorithm="HS256", **changes):
    return jwt.encode(claims(**changes), key, algorithm=algorithm)


def hs512_with_the_secret():
    # The test secret is shorter than HS512 wants; the point is the algorithm.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return secret_token(algorithm="HS512")


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(header, key_bytes):
    """An HS256 token signed with any bytes, as PyJWT itself refuses a PEM key."""
    signing_input = (
        f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims()).encode())}"
    )
    digest = hmac.new(key_bytes, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(digest)}"


def unsigned():
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims()).encode())}."


@pytest.fixture
def flying(factory):
    dep, _, sessions = factory.flying()
    return dep, sessions[0]["flight_session_id"]


def requests_on(flying):
    dep, session = flying
    url = f"/flight/deployments/{dep}/sessions"
    return [
        ("get", url, None),
        ("patch", f"{url}/{session}", {"end_date_time": T1 + 10_000}),
    ]


def assert_refused(client, flying, stored, authorization):
    before = stored("deployments", flying[0])
    for method, url, body in requests_on(flying):
        response = getattr(client, method)(
            url, json=body, headers={"Authorization": authorization}
        )
        error(response, 401)
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert stored("deployments", flying[0]) == before


# Case 10: every forged, stale or malformed credential is a 401.

BAD_SECRET_TOKENS = {
    "alg-none": lambda key: unsigned(),
    "other-secret": lambda key: secret_token(
        key="another-secret-of-the-same-length-000"
    ),
    "hs512-with-the-secret": lambda key: hs512_with_the_secret(),
    "expired": lambda key: secret_token(exp=int(time.time()) - 3600),
    "not-yet-valid": lambda key: secret_token(nbf=int(time.time()) + 3600),
    "issued-in-the-future": lambda key: secret_token(iat=int(time.time()) + 3600),
    "wrong-issuer": lambda key: secret_token(iss="https://elsewhere.test/"),
    "wrong-audience": lambda key: secret_token(aud="another-service"),
    "no-sub": lambda key: secret_token(sub=None),
    "no-company": lambda key: secret_token(company_id=None),
    "no-roles": lambda key: secret_token(roles=None),
    "no-exp": lambda key: secret_token(exp=None),
    "exp-a-string": lambda key: secret_token(exp=str(int(time.time()) + 3600)),
    "nbf-a-string": lambda key: secret_token(nbf=str(int(time.time()) - 60)),
    "iat-a-string": lambda key: secret_token(iat=str(int(time.time()))),
    "exp-a-boolean": lambda key: secret_token(exp=True),
    "roles-not-a-list": lambda key: secret_token(roles="admin"),
    "empty-company": lambda key: secret_token(company_id=""),
    "rs256-unknown-key": lambda key: provider_token(key, headers={"kid": "key-9"}),
    "rs256-no-kid": lambda key: jwt.encode(claims(), key, algorithm="RS256"),
    "rs384-with-the-provider-key": lambda key: provider_token(key, algorithm="RS384"),
}


@pytest.mark.parametrize("make", BAD_SECRET_TOKENS.values(), ids=BAD_SECRET_TOKENS)
def test_bad_tokens_are_401(client, flying, stored, rsa_key, make):
    assert_refused(client, flying, stored, f"Bearer {make(rsa_key)}")


def test_rs256_signed_by_another_key_is_401(client, flying, stored, other_rsa_key):
    assert_refused(client, flying, stored, f"Bearer {provider_token(other_rsa_key)}")


def test_hs256_keyed_with_the_public_key_text_is_401(client, flying, stored, rsa_key):
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for header in ({"alg": "HS256", "typ": "JWT"}, {"alg": "HS256", "kid": KID}):
        assert_refused(client, flying, stored, f"Bearer {hand_signed(header, pem)}")


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not.a.jwt",
        "Bearer ",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "bearer x.y.z",
        "Bearer " + "a" * 5000,
    ],
)
def test_malformed_credentials_are_401(client, flying, stored, authorization):
    assert_refused(client, flying, stored, authorization)


def test_no_credentials_is_401(client, flying):
    for method, url, body in requests_on(flying):
        response = getattr(client, method)(url, json=body)
        error(response, 401)
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_viewer_reads_but_may_not_patch(client, flying, stored, rsa_key):
    (get, url, _), (patch, session_url, body) = requests_on(flying)
    before = stored("deployments", flying[0])
    viewer = {"Authorization": f"Bearer {provider_token(rsa_key, roles=['viewer'])}"}

    assert len(ok(client.get(url, headers=viewer))) == 1
    error(client.patch(session_url, json=body, headers=viewer), 403)
    assert stored("deployments", flying[0]) == before


# Both key sources accept what they signed.


def test_secret_and_provider_tokens_are_both_accepted(client, flying, rsa_key):
    url = requests_on(flying)[0][1]
    for token in (secret_token(), provider_token(rsa_key)):
        ok(client.get(url, headers={"Authorization": f"Bearer {token}"}))


def test_small_clock_skew_is_tolerated(client, flying, rsa_key):
    url = requests_on(flying)[0][1]
    skewed = provider_token(rsa_key, exp=int(time.time()) - 5)

    ok(client.get(url, headers={"Authorization": f"Bearer {skewed}"}))


def test_the_key_set_is_fetched_once_and_cached(client, key_set, rsa_key):
    good = {"Authorization": f"Bearer {provider_token(rsa_key)}"}
    unknown = {"Authorization": f"Bearer {provider_token(rsa_key, {'kid': 'key-9'})}"}

    for _ in range(3):
        ok(client.get("/flight/deployments", headers=good))
    # Unknown key ids do not make the service fetch again at once.
    for _ in range(3):
        error(client.get("/flight/deployments", headers=unknown), 401)

    assert key_set.hits == 1


def test_cached_keys_outlive_a_provider_outage(client, key_set, rsa_key):
    good = {"Authorization": f"Bearer {provider_token(rsa_key)}"}
    ok(client.get("/flight/deployments", headers=good))

    key_set.status = 500
    ok(client.get("/flight/deployments", headers=good))


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, {"error": "down"}),
        (200, b"<html>not json</html>"),
        (200, {"keys": []}),
        (200, ["not", "an", "object"]),
    ],
    ids=["http-500", "not-json", "no-keys", "not-an-object"],
)
def test_an_unusable_key_set_is_503(client, key_set, rsa_key, status, body):
    key_set.status, key_set.body = status, body
    good = {"Authorization": f"Bearer {provider_token(rsa_key)}"}

    response = client.get("/flight/deployments", headers=good)

    error(response, 503)
    assert response.headers["Retry-After"]


def test_an_unreachable_provider_is_503(make_app, rsa_key):
    app = make_app(
        JWT_JWKS_URL=f"http://127.0.0.1:{free_port()}/jwks.json",
        JWT_ISSUER=ISSUER,
        JWT_AUDIENCE=AUDIENCE,
    )
    good = {"Authorization": f"Bearer {provider_token(rsa_key)}"}

    error(app.test_client().get("/flight/deployments", headers=good), 503)


def test_no_development_secret_beside_a_real_database(remote_app, key_set, rsa_key):
    app = remote_app(
        JWT_SECRET=None,
        JWT_JWKS_URL=key_set.url,
        JWT_ISSUER=ISSUER,
        JWT_AUDIENCE=AUDIENCE,
    )
    client = app.test_client()
    forged = secret_token(key=auth.DEVELOPMENT_SECRET)

    assert auth.secret(app) is None
    response = client.get(
        "/flight/deployments", headers={"Authorization": f"Bearer {forged}"}
    )
    error(response, 401)
    # The provider's token gets past identity and meets the absent database.
    good = {"Authorization": f"Bearer {provider_token(rsa_key)}"}
    error(client.get("/flight/deployments", headers=good), 503)


def test_token_command_refuses_without_a_secret(remote_app, key_set):
    app = remote_app(
        JWT_SECRET=None,
        JWT_JWKS_URL=key_set.url,
        JWT_ISSUER=ISSUER,
        JWT_AUDIENCE=AUDIENCE,
    )

    result = app.test_cli_runner().invoke(args=["token", "--company", COMPANY_A])

    assert result.exit_code == 1
    assert "JWT_SECRET is not set" in result.output


# A verified token is taken again without a new signature check.


def test_a_token_is_verified_once_then_taken_again(client, monkeypatch):
    verified = []
    real_decode = jwt.decode

    def counting_decode(*args, **kwargs):
        verified.append(args[0])
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(auth.jwt, "decode", counting_decode)
    token = secret_token()
    headers = {"Authorization": f"Bearer {token}"}

    for _ in range(3):
        ok(client.get("/flight/deployments", headers=headers))

    assert verified == [token]


def test_a_verified_token_is_refused_once_it_expires(make_app, key_set):
    app = make_app(
        JWT_LEEWAY_S=0,
        JWT_JWKS_URL=key_set.url,
        JWT_ISSUER=ISSUER,
        JWT_AUDIENCE=AUDIENCE,
    )
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret_token(exp=int(time.time()) + 2)}"}
    ok(client.get("/flight/deployments", headers=headers))

    time.sleep(3.1)

    assert (
        "expired"
        in error(client.get("/flight/deployments", headers=headers), 401)["message"]
    )


def test_a_verified_token_keeps_no_door_open_to_others(client, flying, stored):
    token = secret_token(roles=("viewer",))
    ok(client.get("/flight/deployments", headers={"Authorization": f"Bearer {token}"}))
    header, payload, signature = token.split(".")
    # The same claims with an admin's roles, under the viewer's signature.
    forged = claims(roles=("admin",))
    forged_payload = (
        base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    )
    assert_refused(
        client, flying, stored, f"Bearer {header}.{forged_payload}.{signature}"
    )
    error(
        client.patch(
            f"/flight/deployments/{flying[0]}",
            json={"name": "v2"},
            headers={"Authorization": f"Bearer {token}"},
        ),
        403,
    )


def test_verified_tokens_expire_from_the_cache():
    tokens = auth.VerifiedTokens(ttl_s=0.2)
    identity = auth.Identity("u", "c", frozenset({"viewer"}))
    tokens.add("t", identity, expires=time.time() + 3600)
    assert tokens.get("t", leeway_s=0) == identity
    time.sleep(0.3)
    assert tokens.get("t", leeway_s=0) is None
