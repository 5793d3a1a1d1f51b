"""CSV export of the flight log: Accept: text/csv on the lists and summaries."""

import csv
import io

import pandas as pd
import pytest

from app.flight_log import export
from app.flight_log import store as log_store
from tests.conftest import COMPANY_A, COMPANY_B, T0, T1, error, ok
from tests.flight_log_data import (
    MINUTE,
    expected,
    figures,
    iso,
    make_log,
    matches,
)

LOG = "/flight/sessions"
SUMMARY = "/flight/sessions/summary"
CSV = {"Accept": "text/csv"}
NONEXISTENT = "0123456789abcdef0123456789abcdef"
SESSION_HEADER = [
    "flight_session_id",
    "flight_plan_id",
    "deployment_id",
    "start_date_time",
    "start_date_time_iso",
    "end_date_time",
    "end_date_time_iso",
]
STATS_HEADER = [
    "session_count",
    "total_flight_time_ms",
    "first_start_date_time",
    "first_start_date_time_iso",
    "last_end_date_time",
    "last_end_date_time_iso",
]
TIMES = ("start_date_time", "end_date_time")


def deployment_list(deployment_id):
    return f"/flight/deployments/{deployment_id}/sessions"


def deployment_summary(deployment_id):
    return f"/flight/deployments/{deployment_id}/sessions/summary"


def csv_rows(response):
    """Header and rows of a CSV answer, after checking what it says it is."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    text = response.get_data(as_text=True)
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:]


def as_session_rows(sessions):
    """The rows a list of sessions should export to, worked out here."""
    return [
        [
            s["flight_session_id"],
            s["flight_plan_id"],
            s["deployment_id"],
            str(s["start_date_time"]),
            iso(s["start_date_time"]),
            str(s["end_date_time"]),
            iso(s["end_date_time"]),
        ]
        for s in sessions
    ]


def as_stats_row(stats):
    first, last = stats["first_start_date_time"], stats["last_end_date_time"]
    return [
        str(stats["session_count"]),
        str(stats["total_flight_time_ms"]),
        "" if first is None else str(first),
        "" if first is None else iso(first),
        "" if last is None else str(last),
        "" if last is None else iso(last),
    ]


@pytest.fixture
def log(app):
    """About 3,000 sessions of company A in 300 deployments, and B's beside."""
    mine = make_log(app, COMPANY_A, seed=31)
    make_log(app, COMPANY_B, seed=32, n_deployments=40)
    return mine


# The company-wide export: the whole filtered log, not a page.


def test_company_export_is_the_whole_log_oldest_first(as_, log):
    header, rows = csv_rows(as_("viewer").get(LOG, headers=CSV))

    assert header == SESSION_HEADER
    assert rows == as_session_rows(expected(log.sessions))
    assert len(rows) > 2500


def test_company_export_takes_the_filters_and_the_sort(as_, log):
    start = min(s["start_date_time"] for s in log.sessions) + 1000 * MINUTE
    window = {"start": start, "end": start + 500 * MINUTE}
    query = {"from": window["start"], "to": window["end"], "sort": "-start_date_time"}

    _, rows = csv_rows(as_("viewer").get(LOG, headers=CSV, query_string=query))

    wanted = expected(log.sessions, newest_first=True, **window)
    assert rows == as_session_rows(wanted)
    assert len(rows) > 100  # more than any one page holds


def test_company_export_of_an_empty_log_is_the_header_alone(as_, factory):
    factory.deployment()

    header, rows = csv_rows(as_("viewer").get(LOG, headers=CSV))

    assert header == SESSION_HEADER
    assert rows == []


def test_company_export_holds_only_the_callers_sessions(as_, factory):
    _, _, mine = factory.flying(COMPANY_A, sessions=2)
    factory.flying(COMPANY_B, sessions=3)

    _, rows = csv_rows(as_("viewer").get(LOG, headers=CSV))

    assert rows == as_session_rows(expected(mine))


@pytest.mark.parametrize(
    "query, field",
    [({"page": 2}, "page"), ({"page_size": 1000000}, "page_size")],
)
def test_company_export_refuses_a_page(as_, factory, query, field):
    factory.flying(sessions=1)

    failure = error(as_("viewer").get(LOG, headers=CSV, query_string=query), 422)

    assert list(failure["errors"]) == [field]


# A deployment's list: the same rows as its JSON answer.


@pytest.mark.parametrize(
    "query",
    [{}, {"sort": "-start_date_time"}, {"from": T0 + 150_000, "to": T0 + 350_000}],
)
def test_deployment_export_has_the_rows_of_the_json_list(as_, factory, query):
    dep, plan, _ = factory.flying(sessions=4)
    factory.session(dep, plan, start=T0 + 25_000, end=T1)
    caller = as_("viewer")
    listed = ok(caller.get(deployment_list(dep), query_string=query))

    header, rows = csv_rows(
        caller.get(deployment_list(dep), headers=CSV, query_string=query)
    )

    assert header == SESSION_HEADER
    assert rows == as_session_rows(listed)
    assert len(rows) >= 2


# Summaries as CSV.


def test_company_summary_export_is_one_row_of_totals(as_, log):
    _, rows = csv_rows(as_("viewer").get(SUMMARY, headers=CSV))

    assert rows == [as_stats_row(figures(log.sessions))]


@pytest.mark.parametrize(
    "group_by, key",
    [("deployment", "deployment_id"), ("flight_plan", "flight_plan_id")],
)
def test_grouped_summary_export_has_a_row_per_group(as_, log, group_by, key):
    caller = as_("viewer")
    query = {"group_by": group_by, "to": T0 + 10**12}
    groups = ok(caller.get(SUMMARY, query_string=query))["groups"]

    header, rows = csv_rows(caller.get(SUMMARY, headers=CSV, query_string=query))

    assert header == [key, *STATS_HEADER]
    assert rows == [[g[key], *as_stats_row(g)] for g in groups]
    by_hand = {}
    for session in log.sessions:
        by_hand.setdefault(session[key], []).append(session)
    assert {row[0]: row[1:] for row in rows} == {
        group: as_stats_row(figures(members)) for group, members in by_hand.items()
    }


def test_deployment_summary_export_is_one_row(as_, log):
    dep = max(log.deployments, key=lambda d: len(log.deployments[d]))
    window = {"end": min(s["start_date_time"] for s in log.deployments[dep])}
    kept = [s for s in log.deployments[dep] if matches(s, **window)]

    header, rows = csv_rows(
        as_("viewer").get(
            deployment_summary(dep), headers=CSV, query_string={"to": window["end"]}
        )
    )

    assert header == ["deployment_id", *STATS_HEADER]
    assert rows == [[dep, *as_stats_row(figures(kept))]]


def test_summary_export_of_nothing_has_empty_times(as_, factory):
    dep = factory.deployment()["deployment_id"]

    _, rows = csv_rows(as_("viewer").get(deployment_summary(dep), headers=CSV))

    assert rows == [[dep, "0", "0", "", "", "", ""]]


# Negotiation: JSON stays the default; errors stay JSON.


@pytest.mark.parametrize(
    "accept, wants_csv",
    [
        (None, False),
        ("*/*", False),
        ("application/json", False),
        ("text/html", False),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),
        ("text/csv, application/json", False),  # a tie goes to JSON
        ("text/csv;q=0.5, application/json", False),
        ("text/csv", True),
        ("text/csv; charset=utf-8", True),
        ("text/csv;header=present", True),
        ("TEXT/CSV", True),
        ("text/*", True),
        ("text/*;q=0.9, text/csv;q=0, */*;q=0.5", False),  # the exact range rules
        ("text/csv;q=0", False),
        ("application/json;q=0.5, text/csv", True),
    ],
)
def test_csv_only_when_the_client_prefers_it(as_, factory, accept, wants_csv):
    dep, _, _ = factory.flying(sessions=1)
    headers = {"Accept": accept} if accept else {}
    caller = as_("viewer")

    for url in (LOG, deployment_list(dep), SUMMARY, deployment_summary(dep)):
        response = caller.get(url, headers=headers)
        assert response.status_code == 200
        wanted = "text/csv" if wants_csv else "application/json"
        assert response.mimetype == wanted, url


@pytest.mark.parametrize(
    "url, query, status",
    [
        (LOG, {"from": "abc"}, 422),
        (LOG, {"deployment": NONEXISTENT}, 422),
        (SUMMARY, {"group_by": "other"}, 422),
        (deployment_list(NONEXISTENT), {}, 404),
        (deployment_summary(NONEXISTENT), {}, 404),
        (deployment_list(NONEXISTENT), {"to": "x"}, 422),
    ],
)
def test_errors_stay_json_when_csv_is_asked(as_, url, query, status):
    error(as_("viewer").get(url, headers=CSV, query_string=query), status)


def test_export_without_a_token_is_a_json_401(client):
    error(client.get(LOG, headers=CSV), 401)


# Streaming, quoting, and what a spreadsheet library makes of it.


def test_a_large_export_is_streamed_in_chunks(as_, log):
    response = as_("viewer").get(LOG, headers=CSV, buffered=False)

    assert response.is_streamed
    chunks = list(response.response)
    assert len(chunks) == -(-len(log.sessions) // export.ROWS_PER_CHUNK)
    assert len(chunks) > 2


class Source:
    """Sessions handed out one at a time, counting reads, like a cursor."""

    def __init__(self, count):
        self.count = count
        self.read = 0
        self.closed = False

    def __iter__(self):
        for i in range(self.count):
            self.read += 1
            yield {
                "flight_session_id": f"{i:032x}",
                "flight_plan_id": "ab" * 16,
                "deployment_id": "cd" * 16,
                "start_date_time": T0 + i,
                "end_date_time": T1 + i,
            }

    def close(self):
        self.closed = True


def test_export_reads_the_source_as_it_writes(as_, monkeypatch):
    source = Source(10 * export.ROWS_PER_CHUNK)
    monkeypatch.setattr(log_store, "iter_sessions", lambda *args: source)

    response = as_("viewer").get(LOG, headers=CSV, buffered=False)
    first = next(iter(response.response))

    assert first.startswith(b"flight_session_id,")
    assert source.read <= export.ROWS_PER_CHUNK + 1
    response.close()
    assert source.closed
    assert source.read < source.count


def test_values_are_quoted_by_the_csv_rules():
    awkward = {
        "flight_session_id": 'comma, "quote"',
        "flight_plan_id": "line\r\nbreak",
        "deployment_id": "plain",
        "start_date_time": T0,
        "end_date_time": None,
    }

    response = export.csv_response([awkward], export.SESSION_COLUMNS, "x.csv")
    text = b"".join(response.iter_encoded()).decode()

    [header, row] = list(csv.reader(io.StringIO(text, newline="")))
    assert header == SESSION_HEADER
    assert row == [
        'comma, "quote"',
        "line\r\nbreak",
        "plain",
        str(T0),
        "2018-05-28T01:00:00.000Z",
        "",
        "",
    ]


@pytest.mark.parametrize(
    "epoch_ms, text",
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (T0, "2018-05-28T01:00:00.000Z"),
        (T1 + 7, "2018-05-28T03:46:40.007Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ],
)
def test_iso_column_is_utc_with_milliseconds(epoch_ms, text):
    assert export.iso_utc(epoch_ms) == text == iso(epoch_ms)


def test_export_opens_in_pandas_with_numbers_and_times(as_, log):
    response = as_("viewer").get(LOG, headers=CSV)

    frame = pd.read_csv(io.BytesIO(response.get_data()))

    assert list(frame.columns) == SESSION_HEADER
    assert len(frame) == len(log.sessions)
    for name in TIMES:
        assert frame[name].dtype == "int64"
        parsed = pd.to_datetime(frame[f"{name}_iso"], utc=True, format="ISO8601")
        epoch = pd.Timestamp(0, tz="UTC")
        millis = (parsed - epoch) // pd.Timedelta(milliseconds=1)
        assert millis.tolist() == frame[name].tolist()
    wanted = expected(log.sessions)
    assert frame["flight_session_id"].tolist() == [
        s["flight_session_id"] for s in wanted
    ]


def test_openapi_documents_csv_beside_the_unchanged_json(client):
    spec = client.get("/openapi.json").get_json()
    routes = {
        LOG: "FlightSessionListEnvelope",
        "/flight/deployments/{deployment_id}/sessions": "FlightSessionListEnvelope",
        SUMMARY: "CompanySummaryEnvelope",
        "/flight/deployments/{deployment_id}/sessions/summary": (
            "DeploymentSummaryEnvelope"
        ),
    }

    for path, envelope in routes.items():
        content = spec["paths"][path]["get"]["responses"]["200"]["content"]
        assert set(content) == {"application/json", "text/csv"}, path
        assert content["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{envelope}"
        }
        assert content["text/csv"]["schema"]["type"] == "string"
