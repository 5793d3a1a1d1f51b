"""A generated flight log, written straight to the store, and plain answers.

The answers here are computed in Python from the generated data, never
through the service, so that the tests compare the service against them.
"""

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app import db

BASE = 1_600_000_000_000
MINUTE = 60_000


def random_id(rng):
    return f"{rng.getrandbits(128):032x}"


@dataclass
class Log:
    company: str
    # deployment_id -> its sessions in stored (creation) order
    deployments: dict = field(default_factory=dict)
    plans: list = field(default_factory=list)

    @property
    def sessions(self):
        return [s for sessions in self.deployments.values() for s in sessions]


def generate(rng, company, n_deployments, max_sessions, n_plans=3):
    """Deployments of `company` with 0..max_sessions sessions each.

    Starts fall on a coarse one-minute grid, so that many sessions share a
    start time and only the tie-break orders them; some last 0 ms.
    """
    log = Log(company)
    for _ in range(n_deployments):
        deployment_id = random_id(rng)
        plans = [random_id(rng) for _ in range(n_plans)]
        log.plans.extend(plans)
        sessions = []
        for _ in range(rng.randint(0, max_sessions)):
            start = BASE + rng.randrange(3000) * MINUTE
            duration = rng.choice((0, rng.randrange(1, 90 * MINUTE)))
            sessions.append(
                {
                    "flight_session_id": random_id(rng),
                    "flight_plan_id": rng.choice(plans),
                    "deployment_id": deployment_id,
                    "start_date_time": start,
                    "end_date_time": start + duration,
                }
            )
        log.deployments[deployment_id] = sessions
    return log


def store(app, log):
    """Write the log's deployments as the service stores them."""
    docs = []
    for deployment_id, sessions in log.deployments.items():
        elements = [
            {
                "flight_session_id": s["flight_session_id"],
                "flight_plan_id": s["flight_plan_id"],
                "start_date_time": s["start_date_time"],
                "end_date_time": s["end_date_time"],
                "created_at": BASE,
                "created_by": "loader",
            }
            for s in sessions
        ]
        docs.append(
            {
                "_id": deployment_id,
                "company_id": log.company,
                "name": f"Generated {deployment_id[:6]}",
                "status": "new",
                "created_at": BASE,
                "flight_sessions": elements,
            }
        )
    with app.app_context():
        db.deployments().insert_many(docs)


def make_log(app, company, seed, n_deployments=300, max_sessions=20):
    log = generate(random.Random(seed), company, n_deployments, max_sessions)
    store(app, log)
    return log


def matches(session, deployment_id=None, flight_plan_id=None, start=None, end=None):
    """The filters as the documentation words them."""
    if deployment_id is not None and session["deployment_id"] != deployment_id:
        return False
    if flight_plan_id is not None and session["flight_plan_id"] != flight_plan_id:
        return False
    if end is not None and session["start_date_time"] > end:
        return False
    if start is not None and session["end_date_time"] < start:
        return False
    return True


def expected(sessions, newest_first=False, **filters):
    kept = [s for s in sessions if matches(s, **filters)]
    kept.sort(key=lambda s: (s["start_date_time"], s["flight_session_id"]))
    if newest_first:
        kept.reverse()
    return kept


def figures(sessions):
    """Count, flight time, first start and last end, added up by hand."""
    total = 0
    first = last = None
    for s in sessions:
        total += s["end_date_time"] - s["start_date_time"]
        if first is None or s["start_date_time"] < first:
            first = s["start_date_time"]
        if last is None or s["end_date_time"] > last:
            last = s["end_date_time"]
    return {
        "session_count": len(sessions),
        "total_flight_time_ms": total,
        "first_start_date_time": first,
        "last_end_date_time": last,
    }


def iso(epoch_ms):
    """ISO 8601 UTC text of epoch ms, by a different route than the service."""
    seconds, millis = divmod(epoch_ms, 1000)
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


def window_params(start=None, end=None):
    params = {}
    if start is not None:
        params["from"] = start
    if end is not None:
        params["to"] = end
    return params
