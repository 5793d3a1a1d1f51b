"""The shell recipes in docs/data-model.md run and answer their question."""

import json
import re
from pathlib import Path

import pytest

from app import db
from tests.conftest import COMPANY_A, COMPANY_B

DOC = Path(__file__).resolve().parent.parent / "docs" / "data-model.md"
HOUR = 3_600_000
MAY_28 = 1527465600000  # 2018-05-28T00:00:00Z
APRIL_30 = MAY_28 - 28 * 24 * HOUR


def recipes():
    """{heading: [pipeline, ...]} for each aggregate() under a ### heading."""
    found = {}
    heading = None
    for part in re.split(
        r"^(### .+|```js\n(?:.*?\n)*?```)$", DOC.read_text(), flags=re.M
    ):
        if part.startswith("### "):
            heading = part[4:].strip()
        elif part.startswith("```js\ndb.deployments.aggregate("):
            body = part.removeprefix("```js\ndb.deployments.aggregate(")
            found.setdefault(heading, []).append(body.rsplit(")", 1)[0])
    return found


def run(app, text, **placeholders):
    for name, value in placeholders.items():
        text = text.replace(f"<{name}>", value)
    pipeline = json.loads(text)
    with app.app_context():
        return list(db.deployments().aggregate(pipeline))


@pytest.fixture
def flown(factory):
    """Company A: one deployment flying in late May, one in late April
    and across midnight into May 28; company B flying the same times."""
    may = factory.deployment(name="May site")["deployment_id"]
    april = factory.deployment(name="April site")["deployment_id"]
    plan = factory.plan(may)["flight_plan_id"]
    other_plan = factory.plan(april)["flight_plan_id"]
    factory.session(may, plan, start=MAY_28 + HOUR, end=MAY_28 + 2 * HOUR)
    factory.session(may, plan, start=MAY_28 + 3 * HOUR, end=MAY_28 + 6 * HOUR)
    factory.session(april, other_plan, start=APRIL_30, end=APRIL_30 + HOUR)
    factory.session(april, other_plan, start=MAY_28 - HOUR, end=MAY_28 + HOUR)
    b_dep = factory.deployment(COMPANY_B)["deployment_id"]
    b_plan = factory.plan(b_dep, COMPANY_B)["flight_plan_id"]
    factory.session(
        b_dep, b_plan, COMPANY_B, start=MAY_28 + HOUR, end=MAY_28 + 9 * HOUR
    )
    return {"may": may, "april": april, "plan": plan}


def test_every_recipe_is_found():
    assert {k: len(v) for k, v in recipes().items()} == {
        "All sessions of one plan": 1,
        "Flight time per deployment in a month": 1,
        "Sessions in a time window": 2,
    }


def test_sessions_of_one_plan(app, flown):
    (recipe,) = recipes()["All sessions of one plan"]

    rows = run(app, recipe, company_id=COMPANY_A, flight_plan_id=flown["plan"])

    assert [r["start_date_time"] for r in rows] == [MAY_28 + HOUR, MAY_28 + 3 * HOUR]
    assert {r["deployment_id"] for r in rows} == {flown["may"]}
    assert set(rows[0]) == {
        "deployment_id",
        "flight_session_id",
        "flight_plan_id",
        "start_date_time",
        "end_date_time",
    }


def test_flight_time_per_deployment_in_a_month(app, flown):
    (recipe,) = recipes()["Flight time per deployment in a month"]

    rows = run(app, recipe, company_id=COMPANY_A)

    by_deployment = {r["_id"]: r for r in rows}
    assert set(by_deployment) == {flown["may"], flown["april"]}
    assert by_deployment[flown["may"]]["flight_ms"] == 4 * HOUR
    assert by_deployment[flown["may"]]["sessions"] == 2
    assert by_deployment[flown["may"]]["flight_hours"] == 4
    # The April 30 flight is April's; the one into May 28 started in May.
    assert by_deployment[flown["april"]]["flight_ms"] == 2 * HOUR
    assert rows[0]["_id"] == flown["may"]


def test_sessions_in_a_time_window(app, flown):
    started, in_the_air = recipes()["Sessions in a time window"]

    started_rows = run(app, started, company_id=COMPANY_A)
    air_rows = run(app, in_the_air, company_id=COMPANY_A)

    assert [r["start_date_time"] for r in started_rows] == [
        MAY_28 + HOUR,
        MAY_28 + 3 * HOUR,
    ]
    # The flight over midnight was in the air in the window without starting in it.
    assert [r["start_date_time"] for r in air_rows] == [
        MAY_28 - HOUR,
        MAY_28 + HOUR,
        MAY_28 + 3 * HOUR,
    ]
