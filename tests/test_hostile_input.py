"""Hostile and careless input: a clear JSON error every time, and nothing changed."""

import base64
import gzip
import json
import time
import warnings

import jwt
import pytest

from app import auth, db
from tests.conftest import COMPANY_A, COMPANY_B, T0, T1, error, ok

NONEXISTENT = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def everything(app):
    """Every stored deployment and plan, to compare before and after."""

    def read():
        with app.app_context():
            return {
                name: sorted(db.get_db()[name].find({}), key=lambda d: d["_id"])
                for name in ("deployments", "flight_plans")
            }

    return read


@pytest.fixture
def base(factory):
    """Deployment, approved plan and one session of company A."""
    dep, plan, made = factory.flying(sessions=1)
    return dep, plan, made[0]["flight_session_id"]


def sessions_url(dep):
    return f"/flight/deployments/{dep}/sessions"


def raw(caller, method, url, data, content_type="application/json", **headers):
    sent = {"Content-Type": content_type} if content_type else {}
    sent.update(headers)
    return getattr(caller.client, method)(url, data=data, headers=caller._headers(sent))


def session_json(plan):
    return json.dumps(
        {"flight_plan_id": plan, "start_date_time": T0, "end_date_time": T1}
    )


# --- Bodies that are not a JSON object -------------------------------------

NOT_JSON = [
    (b'{"flight_plan_id": ', 400),  # truncated
    (b"{'flight_plan_id': 1}", 400),  # not JSON
    (b'{"a": 1,}', 400),
    (b"\xff\xfe{}", 400),  # not UTF-8
    (b'{"start_date_time": NaN}', 400),
    (b'{"start_date_time": Infinity}', 400),
    (b'{"start_date_time": -Infinity}', 400),
    (b'{"a": 1, "a": 2}', 400),  # a key twice
    (b"[" * 5000 + b"]" * 5000, 400),  # deeper than the parser recurses
    (b"[]", 422),
    (b'"text"', 422),
    (b"1527469200000", 422),
    (b"null", 422),
    (b"true", 422),
]


@pytest.mark.parametrize("body,status", NOT_JSON, ids=lambda v: repr(v)[:40])
@pytest.mark.parametrize("method", ["post", "patch"])
def test_body_that_is_not_a_json_object_is_refused(
    as_, base, everything, body, status, method
):
    dep, _, session = base
    url = sessions_url(dep) + (f"/{session}" if method == "patch" else "")
    before = everything()
    error(raw(as_("pilot"), method, url, body), status)
    assert everything() == before


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", None]
)
def test_body_that_is_not_declared_json_answers_415(
    as_, base, everything, content_type
):
    dep, plan, _ = base
    body = json.dumps({"flight_plan_id": plan, "start_date_time": T0})
    before = everything()
    error(raw(as_("pilot"), "post", sessions_url(dep), body, content_type), 415)
    assert everything() == before


@pytest.mark.parametrize("coding", ["gzip", "br", "deflate", "gzip, identity"])
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "compressed"])
def test_body_with_a_content_coding_answers_415(
    as_, base, everything, coding, compressed
):
    dep, plan, _ = base
    body = session_json(plan)
    data = gzip.compress(body.encode()) if compressed else body
    caller = as_("pilot")
    before = everything()

    response = raw(
        caller, "post", sessions_url(dep), data, **{"Content-Encoding": coding}
    )

    assert "Content-Encoding" in error(response, 415)["message"]
    assert response.headers["Accept-Encoding"] == "identity"
    assert everything() == before
    ok(raw(caller, "post", sessions_url(dep), body, **{"Content-Encoding": "identity"}))


@pytest.mark.parametrize("coding", ["gzip, chunked", "deflate, chunked", "gzip"])
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "compressed"])
def test_body_with_a_transfer_coding_but_chunked_answers_415(
    app, token_for, everything, coding, compressed
):
    import io

    body = json.dumps({"name": "encoded"}).encode()
    before = everything()

    response = app.test_client().post(
        "/flight/deployments",
        input_stream=io.BytesIO(gzip.compress(body) if compressed else body),
        headers={
            "Authorization": f"Bearer {token_for('admin')}",
            "Content-Type": "application/json",
            "Transfer-Encoding": coding,
        },
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert "Transfer-Encoding" in error(response, 415)["message"]
    assert everything() == before


@pytest.mark.parametrize("charset", ["latin-1", "UTF-16", "us-ascii"])
def test_json_labelled_with_another_charset_answers_415(as_, base, everything, charset):
    dep, plan, _ = base
    body = session_json(plan)
    caller = as_("pilot")
    before = everything()

    response = raw(
        caller, "post", sessions_url(dep), body, f"application/json; charset={charset}"
    )

    assert "UTF-8" in error(response, 415)["message"]
    assert everything() == before
    ok(raw(caller, "post", sessions_url(dep), body, "application/json; charset=UTF-8"))


def test_empty_body_answers_400(as_, base, everything):
    dep, _, _ = base
    before = everything()
    err = error(raw(as_("pilot"), "post", sessions_url(dep), b""), 400)
    assert "empty" in err["message"]
    assert everything() == before


def test_twenty_mib_body_answers_413_in_the_envelope(as_, everything):
    # Case 5, step 4.
    pad = "x" * (20 * 1024 * 1024)
    body = json.dumps(
        {
            "name": "big",
            "deployment_area": {
                "type": "FeatureCollection",
                "features": [],
                "pad": pad,
            },
        }
    )
    before = everything()
    error(raw(as_("admin"), "post", "/flight/deployments", body), 413)
    assert everything() == before


def test_oversized_chunked_body_answers_413_not_a_parse_error(app, token_for):
    # Without a Content-Length, werkzeug would silently cut the body short.
    import io

    body = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = app.test_client().post(
        "/flight/deployments",
        input_stream=io.BytesIO(body),
        headers={
            "Authorization": f"Bearer {token_for('admin')}",
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
        environ_overrides={"wsgi.input_terminated": True},
    )
    error(response, 413)


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_the_body_limit_is_exact_however_the_body_is_sent(make_app, chunked):
    import io

    app = make_app(MAX_BODY_BYTES=64)
    token = auth.mint_token(app, "user-1", COMPANY_A, ["admin"])

    def post(size):
        body = b'{"name": "' + b"x" * (size - 12) + b'"}'
        assert len(body) == size
        headers = {"Authorization": f"Bearer {token}"}
        headers["Content-Type"] = "application/json"
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
            return app.test_client().post(
                "/flight/deployments",
                input_stream=io.BytesIO(body),
                headers=headers,
                environ_overrides={"wsgi.input_terminated": True},
            )
        return app.test_client().post("/flight/deployments", data=body, headers=headers)

    assert ok(post(64))["name"] == "x" * 52
    err = error(post(65), 413)
    assert err["message"] == "The request body exceeds 64 bytes."


def test_small_chunked_body_is_read_whole(app, token_for):
    import io

    response = app.test_client().post(
        "/flight/deployments",
        input_stream=io.BytesIO(b'{"name": "chunked"}'),
        headers={
            "Authorization": f"Bearer {token_for('admin')}",
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert ok(response)["name"] == "chunked"


# --- Values MongoDB could not store as sent --------------------------------


def plan_with(value):
    return {"commands": [{"param": value}]}


UNSTORABLE = [
    ({"plan": plan_with(2**63)}, "plan"),
    ({"plan": plan_with(-(2**63) - 1)}, "plan"),
    ({"plan": {"home_location": {"$where": "1"}}}, "plan"),
    ({"plan": {"home_location": {"a\x00b": 1}}}, "plan"),
    ({"plan": {"home_location": {"note": "\ud800"}}}, "plan"),
    ({"description": "\udfff"}, "description"),
    (
        {
            "plan": {
                "rtl_path": [
                    [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
                ]
            }
        },
        "plan",
    ),
]


@pytest.mark.parametrize("fields,field", UNSTORABLE, ids=lambda v: repr(v)[:40])
def test_value_mongodb_cannot_store_is_refused_with_422(
    as_, base, everything, fields, field
):
    dep, _, _ = base
    before = everything()
    body = json.dumps({"deployment_id": dep, **fields})
    err = error(raw(as_("pilot"), "post", "/flight/plans", body), 422)
    assert field in err["errors"]
    assert everything() == before


def test_exponent_that_overflows_to_infinity_is_refused(as_, base, everything):
    dep, _, _ = base
    before = everything()
    body = '{"deployment_id": "DEP", "plan": {"commands": [{"x": 1e400}]}}'
    body = body.replace("DEP", dep)
    err = error(raw(as_("pilot"), "post", "/flight/plans", body), 422)
    assert "plan" in err["errors"]
    assert everything() == before


def test_sixty_four_bit_integers_and_nesting_within_limit_are_kept(as_, base):
    dep, _, _ = base
    nested = [[[[[[[[[[1]]]]]]]]]]
    body = {
        "deployment_id": dep,
        "plan": {
            "commands": [{"big": 2**63 - 1, "small": -(2**63)}],
            "rtl_path": nested,
        },
    }
    plan = ok(as_("pilot").post("/flight/plans", body))
    assert plan["plan"]["commands"][0]["big"] == 2**63 - 1
    assert plan["plan"]["rtl_path"] == nested


# --- Fields: unknown, null, server-set -------------------------------------


NULLABLE_NOWHERE = [
    ("session", "flight_plan_id"),
    ("session", "start_date_time"),
    ("session", "end_date_time"),
    ("deployment", "name"),
    ("deployment", "project_id"),
    ("deployment", "purpose"),
    ("deployment", "drones"),
    ("deployment", "batteries"),
    ("deployment", "cameras"),
    ("deployment", "personnel"),
    ("deployment", "deployment_lead_id"),
    ("deployment", "deployment_area"),
    ("deployment", "start_date"),
    ("deployment", "end_date"),
    ("deployment", "status"),
    ("plan", "description"),
    ("plan", "plan_type"),
    ("plan", "drones"),
    ("plan", "plan"),
]


@pytest.mark.parametrize(
    "kind,field,method",
    [(k, f, m) for m in ("post", "patch") for k, f in NULLABLE_NOWHERE]
    + [("plan", "status", "patch")],
)
def test_null_for_any_field_is_refused_by_name(
    as_, base, everything, kind, field, method
):
    dep, plan, session = base
    if kind == "session":
        url = sessions_url(dep)
        body = {"flight_plan_id": plan, "start_date_time": T0, "end_date_time": T1}
        if method == "patch":
            url, body = f"{url}/{session}", {}
    elif kind == "deployment":
        url, body = "/flight/deployments", {"name": "n"}
        if method == "patch":
            url, body = f"/flight/deployments/{dep}", {}
    else:
        url, body = "/flight/plans", {"deployment_id": dep}
        if method == "patch":
            url, body = f"/flight/plans/{plan}", {}
    body[field] = None
    before = everything()

    err = error(getattr(as_("admin"), method)(url, body), 422)

    assert field in err["errors"]
    assert everything() == before


@pytest.mark.parametrize(
    "url_of,body",
    [
        (lambda d, p, s: f"/flight/deployments/{d}/sessions/{s}", {"end_time": T1}),
        (lambda d, p, s: f"/flight/deployments/{d}", {"nmae": "typo"}),
        (lambda d, p, s: f"/flight/plans/{p}", {"descripton": "typo"}),
    ],
    ids=["session", "deployment", "plan"],
)
def test_unknown_field_is_named_not_ignored(as_, base, everything, url_of, body):
    before = everything()
    err = error(as_("admin").patch(url_of(*base), body), 422)
    assert list(body)[0] in err["errors"]
    assert everything() == before


# --- Times (case 1) ----------------------------------------------------------

BAD_TIMES = [
    1527469200000.5,
    1.5e12,
    1527469200000.0,
    True,
    False,
    "1527469200000.0",
    " 1527469200000",
    "1527469200000 ",
    "1_527_469_200_000",
    "+1527469200000",
    "١٥٢٧٤٦٩٢٠٠٠٠٠",
    "²",
    "",
    "0x16345785D8A0000",
    -1,
    None,
    2**64,
    "123456789012345678901234567890",
    946684799999,  # 1999-12-31T23:59:59.999Z
    253402300800000,  # 10000-01-01
    [T0],
    {"ms": T0},
]


@pytest.mark.parametrize("value", BAD_TIMES, ids=repr)
@pytest.mark.parametrize("field", ["start_date_time", "end_date_time"])
def test_time_that_is_not_whole_plausible_milliseconds_is_refused(
    as_, base, everything, field, value
):
    dep, plan, _ = base
    body = {"flight_plan_id": plan, "start_date_time": T0, "end_date_time": T1}
    body[field] = value
    before = everything()
    err = error(as_("pilot").post(sessions_url(dep), body), 422)
    assert field in err["errors"]
    assert everything() == before


def test_time_in_seconds_gets_a_hint_about_milliseconds(as_, base):
    dep, plan, _ = base
    body = {"flight_plan_id": plan, "start_date_time": T0 // 1000, "end_date_time": T1}
    err = error(as_("pilot").post(sessions_url(dep), body), 422)
    assert "milliseconds" in err["errors"]["start_date_time"][0]


def test_digit_strings_are_stored_as_64_bit_integers(app, as_, base, stored):
    # Case 1, positive control.
    dep, plan, _ = base
    body = {
        "flight_plan_id": plan,
        "start_date_time": "1527469200000",
        "end_date_time": "1527479200000",
    }
    made = ok(as_("pilot").post(sessions_url(dep), body))
    assert made["start_date_time"] == 1527469200000
    assert type(made["end_date_time"]) is int
    element = stored("deployments", dep)["flight_sessions"][-1]
    assert type(element["start_date_time"]) is int
    assert type(element["end_date_time"]) is int


# --- One-sided PATCH keeps end >= start (case 3) ---------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"start_date_time": 1527489200000},
        {"end_date_time": 1527459200000},
        {"end_date_time": "999999999999"},
        {"end_date_time": None},
        {"start_date_time": T1, "end_date_time": T0},
    ],
    ids=repr,
)
def test_patch_that_would_invert_the_range_changes_nothing(
    as_, base, everything, change
):
    dep, _, session = base
    before = everything()
    err = error(as_("pilot").patch(f"{sessions_url(dep)}/{session}", change), 422)
    assert set(err["errors"]) & set(change)
    assert everything() == before


def test_patch_to_an_empty_range_and_with_digit_strings_is_accepted(as_, base, stored):
    dep, _, session = base
    url = f"{sessions_url(dep)}/{session}"
    assert ok(as_("pilot").patch(url, {"end_date_time": T0}))["end_date_time"] == T0
    (element,) = stored("deployments", dep)["flight_sessions"]
    assert (element["start_date_time"], element["end_date_time"]) == (T0, T0)
    got = ok(
        as_("pilot").patch(
            url, {"start_date_time": "1527470000000", "end_date_time": "1527475000000"}
        )
    )
    assert (got["start_date_time"], got["end_date_time"]) == (
        1527470000000,
        1527475000000,
    )
    (element,) = stored("deployments", dep)["flight_sessions"]
    assert (element["start_date_time"], element["end_date_time"]) == (
        1527470000000,
        1527475000000,
    )


# --- IDs --------------------------------------------------------------------

BAD_IDS = [
    "XYZ",
    "0123456789ABCDEF0123456789ABCDEF",  # upper case
    "0123456789abcdef0123456789abcde",  # 31
    "0123456789abcdef0123456789abcdef0",  # 33
    "0123456789abcdef0123456789abcdeg",
    "%00",
    "..",
]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_malformed_id_in_the_path_is_not_found(as_, base, everything, bad):
    dep, _, session = base
    before = everything()
    for method, url in [
        ("get", f"/flight/deployments/{bad}"),
        ("get", f"/flight/plans/{bad}"),
        ("get", f"/flight/deployments/{bad}/sessions"),
        ("delete", f"/flight/deployments/{dep}/sessions/{bad}"),
        ("patch", f"/flight/deployments/{bad}/sessions/{session}"),
    ]:
        kwargs = {"json": {"end_date_time": T1}} if method == "patch" else {}
        error(getattr(as_("admin"), method)(url, **kwargs), 404)
    assert everything() == before


@pytest.mark.parametrize("bad", BAD_IDS + [12345678901234567890, None, ["x"]])
def test_malformed_id_in_the_body_is_named(as_, base, everything, bad):
    dep, _, _ = base
    before = everything()
    body = {"flight_plan_id": bad, "start_date_time": T0, "end_date_time": T1}
    err = error(as_("pilot").post(sessions_url(dep), body), 422)
    assert "flight_plan_id" in err["errors"]
    err = error(as_("pilot").post("/flight/plans", {"deployment_id": bad}), 422)
    assert "deployment_id" in err["errors"]
    assert everything() == before


def test_malformed_id_in_the_query_is_named(as_, base):
    err = error(as_("viewer").get("/flight/plans?deployment_id=XYZ"), 422)
    assert "deployment_id" in err["errors"]


# --- Strings ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Ünïcödé ✈ 無人機",
        "\U0001f681" * 50,
        "a\u0000b",
        "RTL \u202e override",
        "x" * 200,
    ],
)
def test_unicode_names_round_trip(as_, stored, name):
    made = ok(as_("admin").post("/flight/deployments", {"name": name}))
    assert made["name"] == name
    assert (
        ok(as_("admin").get(f"/flight/deployments/{made['deployment_id']}"))["name"]
        == name
    )
    assert stored("deployments", made["deployment_id"])["name"] == name


@pytest.mark.parametrize(
    "url,body,field",
    [
        ("/flight/deployments", {"name": "x" * 201}, "name"),
        ("/flight/deployments", {"name": ""}, "name"),
        ("/flight/deployments", {"name": "n", "drones": ["d" * 65]}, "drones"),
        ("plans", {"description": "x" * 2001}, "description"),
    ],
)
def test_over_long_strings_are_refused_by_name(as_, base, everything, url, body, field):
    dep, _, _ = base
    if url == "plans":
        url, body = "/flight/plans", {"deployment_id": dep, **body}
    before = everything()
    err = error(as_("admin").post(url, body), 422)
    assert field in err["errors"]
    assert everything() == before


# --- Query parameters -------------------------------------------------------


@pytest.mark.parametrize(
    "query,param",
    [
        ("page=abc", "page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page_size=0", "page_size"),
        ("page_size=-5", "page_size"),
        ("page_size=1.5", "page_size"),
        ("page_size=1000000", "page_size"),
        ("page=99999999999999999999999", "page"),
        # Loose forms an integer parser would take.
        ("page=%D9%A3", "page"),  # Arabic-Indic three
        ("page=%EF%BC%91", "page"),  # fullwidth one
        ("page=1_0", "page"),
        ("page=%201", "page"),
        ("page=", "page"),
        ("page_size=%2B5", "page_size"),
        ("page=1&page=2", "page"),
    ],
)
@pytest.mark.parametrize(
    "url", ["/flight/deployments", "/flight/plans", "/flight/sessions"]
)
def test_bad_page_values_are_named(as_, base, url, query, param):
    err = error(as_("viewer").get(f"{url}?{query}"), 422)
    assert param in err["errors"]


@pytest.mark.parametrize(
    "url",
    [
        "/flight/sessions?deployment_id={dep}&deployment_id={other}",
        "/flight/sessions?from=1&to=2&from=3",
        "/flight/deployments/{dep}/sessions?sort=start_date_time&sort=-start_date_time",
        "/flight/plans?deployment_id={dep}&deployment_id={other}",
    ],
)
def test_a_repeated_parameter_is_refused_not_half_read(as_, base, factory, url):
    dep, _, _ = base
    other = factory.deployment()["deployment_id"]
    url = url.format(dep=dep, other=other)
    err = error(as_("viewer").get(url), 422)
    (name,) = err["errors"]
    assert url.count(f"{name}=") == 2


@pytest.mark.parametrize(
    "url", ["/flight/plans?deployment={dep}", "/flight/deployments?name=x"]
)
def test_a_misspelt_list_filter_is_refused_not_ignored(as_, base, url):
    dep, _, _ = base
    err = error(as_("viewer").get(url.format(dep=dep)), 422)
    assert err["errors"] == {
        url.split("?")[1].split("=")[0]: ["Unknown query parameter."]
    }


@pytest.mark.parametrize("value", ["maybe", "2", "", "yes please"])
def test_bad_cascade_value_is_named_and_deletes_nothing(as_, base, everything, value):
    dep, _, _ = base
    before = everything()
    err = error(as_("admin").delete(f"/flight/deployments/{dep}?cascade={value}"), 422)
    assert "cascade" in err["errors"]
    assert everything() == before


# --- Tokens (HS256 with JWT_SECRET) ------------------------------------------


def claims(**overrides):
    now = int(time.time())
    base = {
        "sub": "user-a4",
        "company_id": COMPANY_A,
        "roles": ["admin"],
        "iat": now,
        "exp": now + 3600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def unsigned(payload):
    def part(obj):
        raw_json = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw_json).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def bad_tokens(app):
    secret = app.config["JWT_SECRET"]
    now = int(time.time())
    with warnings.catch_warnings():
        # The test secret is short for HS512; the point is the algorithm.
        warnings.simplefilter("ignore")
        hs512 = jwt.encode(claims(), secret, algorithm="HS512")
    return {
        "alg none": unsigned(claims()),
        "other secret": jwt.encode(claims(), "another-secret-0123456789-abcdefghij"),
        "HS512": hs512,
        "expired": jwt.encode(claims(exp=now - 3600), secret),
        "not yet valid": jwt.encode(claims(nbf=now + 3600), secret),
        "no sub": jwt.encode(claims(sub=None), secret),
        "no company": jwt.encode(claims(company_id=None), secret),
        "no roles": jwt.encode(claims(roles=None), secret),
        "no exp": jwt.encode(claims(exp=None), secret),
        "roles not a list": jwt.encode(claims(roles="admin"), secret),
        "company not a string": jwt.encode(claims(company_id=7), secret),
        "garbage": "not.a.jwt",
        "tampered": jwt.encode(claims(), secret)[:-4] + "AAAA",
    }


@pytest.mark.parametrize(
    "name",
    [
        "alg none",
        "other secret",
        "HS512",
        "expired",
        "not yet valid",
        "no sub",
        "no company",
        "no roles",
        "no exp",
        "roles not a list",
        "company not a string",
        "garbage",
        "tampered",
    ],
)
def test_bad_token_answers_401_and_changes_nothing(app, client, base, everything, name):
    dep, _, session = base
    token = bad_tokens(app)[name]
    headers = {"Authorization": f"Bearer {token}"}
    before = everything()

    for response in (
        client.get(sessions_url(dep), headers=headers),
        client.patch(
            f"{sessions_url(dep)}/{session}",
            json={"end_date_time": 1527489200000},
            headers=headers,
        ),
    ):
        error(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert everything() == before


@pytest.mark.parametrize(
    "header", ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc"]
)
def test_missing_or_foreign_authorization_answers_401(client, base, header):
    dep, _, _ = base
    headers = {"Authorization": header} if header else {}
    error(client.get(sessions_url(dep), headers=headers), 401)


def test_role_too_low_answers_403_and_reading_still_works(as_, base, everything):
    dep, _, session = base
    url = f"{sessions_url(dep)}/{session}"
    before = everything()
    error(as_("viewer").patch(url, {"end_date_time": 1527489200000}), 403)
    assert everything() == before
    ok(as_("viewer").get(url))


def test_token_minted_by_the_service_is_accepted(app, client, base):
    dep, _, _ = base
    token = auth.mint_token(app, "user-a2", COMPANY_A, ["viewer"])
    ok(client.get(sessions_url(dep), headers={"Authorization": f"Bearer {token}"}))


# --- Framework-raised errors (case 5) ---------------------------------------


def test_unknown_route_answers_404_in_the_envelope(as_):
    error(as_("pilot").get("/flight/no-such-route"), 404)


def test_html_accept_still_gets_json(as_):
    response = as_("pilot").get(
        f"/flight/deployments/{NONEXISTENT}/sessions", headers={"Accept": "text/html"}
    )
    error(response, 404)


def test_wrong_method_answers_405_with_allow(as_, base):
    dep, _, _ = base
    response = as_("pilot").delete(sessions_url(dep))
    error(response, 405)
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed


def test_no_authorization_answers_401(client):
    error(client.get("/flight/deployments"), 401)


def test_trailing_slash_post_is_not_redirected_and_creates_one(as_, base, stored):
    dep, plan, _ = base
    body = {"flight_plan_id": plan, "start_date_time": T0, "end_date_time": T1}
    response = as_("pilot").post(sessions_url(dep) + "/", body)
    assert response.status_code == 200
    assert len(stored("deployments", dep)["flight_sessions"]) == 2


# --- Fields that would move, re-own or self-approve (case 13) ---------------


def test_session_cannot_be_moved_renamed_or_smuggled(as_, factory, base, everything):
    dep, plan, session = base
    other = factory.deployment()["deployment_id"]
    url = f"{sessions_url(dep)}/{session}"
    before = everything()

    err = error(as_("pilot").patch(url, {"deployment_id": other}), 422)
    assert "deployment_id" in err["errors"]
    err = error(as_("pilot").patch(url, {"flight_session_id": NONEXISTENT}), 422)
    assert "flight_session_id" in err["errors"]
    body = {
        "flight_plan_id": plan,
        "start_date_time": T0,
        "end_date_time": T1,
        "deployment_id": other,
    }
    error(as_("pilot").post(sessions_url(dep), body), 422)

    assert everything() == before


@pytest.mark.parametrize(
    "change",
    [
        {"company_id": COMPANY_B},
        {"flight_sessions": []},
        {"deployment_id": NONEXISTENT},
        {"plan_bars": []},
        {"_id": NONEXISTENT},
        {"created_at": 0},
    ],
    ids=repr,
)
def test_deployment_cannot_be_reowned_or_emptied(as_, base, everything, change):
    dep, _, _ = base
    before = everything()
    err = error(as_("admin").patch(f"/flight/deployments/{dep}", change), 422)
    assert list(change)[0] in err["errors"]
    assert everything() == before
    ok(as_("viewer").get(f"/flight/deployments/{dep}"))
    error(as_("pilot", COMPANY_B).get(f"/flight/deployments/{dep}"), 404)


def test_plan_cannot_be_self_approved_or_moved(as_, factory, everything):
    dep = factory.deployment()["deployment_id"]
    plan = factory.plan(dep, status="submitted")["flight_plan_id"]
    url = f"/flight/plans/{plan}"
    before = everything()

    error(as_("pilot").patch(url, {"status": "approved"}), 403)
    err = error(as_("admin").patch(url, {"deployment_id": NONEXISTENT}), 422)
    assert "deployment_id" in err["errors"]
    assert everything() == before

    approved = ok(as_("approver", user="user-a3").patch(url, {"status": "approved"}))
    assert approved["status"] == "approved"


def test_server_set_plan_fields_are_refused_and_stamped_in_utc(
    as_, factory, stored, monkeypatch
):
    monkeypatch.setenv("TZ", "Asia/Singapore")
    time.tzset()
    try:
        dep = factory.deployment()["deployment_id"]
        plan = factory.plan(dep, status="submitted")["flight_plan_id"]
        url = f"/flight/plans/{plan}"
        approver = as_("approver", user="user-a3")
        body = {
            "description": "v2",
            "last_modified_by": "someone-else",
            "last_modified_date": 0,
        }
        err = error(approver.patch(url, body), 422)
        assert {"last_modified_by", "last_modified_date"} <= set(err["errors"])

        got = ok(approver.patch(url, {"description": "v2"}))
        now_ms = time.time_ns() // 1_000_000
    finally:
        monkeypatch.undo()
        time.tzset()

    assert got["last_modified_by"] == "user-a3"
    assert type(got["last_modified_date"]) is int
    assert abs(got["last_modified_date"] - now_ms) <= 5000
    doc = stored("flight_plans", plan)
    assert type(doc["last_modified_date"]) is int
    assert doc["last_modified_by"] == "user-a3"
