"""The benchmark: `python -m bench`, described in README.md, Performance.

Starts the service under gunicorn on 127.0.0.1 with gunicorn.conf.py, one
scenario at a time (each on a store holding only its own data), drives it
with wrk from a second process, and measures the floor: a bare Flask app
answering the same JSON document under the same gunicorn settings. Prints
Markdown tables and keeps them, with the raw figures, in bench/results/.
"""

import argparse
import contextlib
import datetime
import itertools
import json
import math
import os
import platform
import runpy
import secrets
import subprocess
import sys
import time
from pathlib import Path

from pymongo.errors import PyMongoError

from app import db
from bench import load, profile, report, round_trips, seed
from bench.servers import ROOT, Server, environment

GROWTH_SIZES = (1, 1_000, 10_000)
# The read scenario: GET session, GET list and PATCH aim at these.
READ_DEPLOYMENTS = 10
SESSIONS_PER_DEPLOYMENT = 10
# Sessions aimed at in a growth deployment, spread over its whole array.
GROWTH_SAMPLES = 50
# POST and DELETE requests per run on the embedded store (see Bench.budget).
EMBEDDED_WRITE_BUDGET = 3_000
# The floor gets the same Authorization header as the service, unread.
FLOOR_REQUESTS = [("GET", "/floor", None)]


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure each session route against the floor of a bare "
        "Flask app, count database round trips, and measure growth.",
    )
    parser.add_argument(
        "--seconds", type=int, default=8, help="length of each wrk run (8)"
    )
    parser.add_argument(
        "--warmup", type=int, default=1, help="warm-up before each run (1)"
    )
    parser.add_argument(
        "--connections", type=int, default=8, help="wrk connections (8)"
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument(
        "--max-requests",
        type=int,
        default=200_000,
        help="stop a wrk thread after this many requests (200000)",
    )
    parser.add_argument(
        "--growth-requests",
        type=int,
        default=200,
        help="requests per growth measurement, at most (200)",
    )
    parser.add_argument(
        "--growth-seconds",
        type=int,
        default=5,
        help="seconds per growth measurement, at most (5)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the gunicorn worker with py-spy during each wrk run "
        "(figures are then a little lower)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=ROOT / "bench" / "results",
        help="where tables, raw figures and logs go (bench/results)",
    )
    args = parser.parse_args(argv)
    if not (1 <= args.seconds <= 60 and 0 <= args.warmup <= 10):
        parser.error("--seconds must be within 1..60 and --warmup within 0..10")
    if not 1 <= args.growth_seconds <= 60:
        parser.error("--growth-seconds must be within 1..60")
    if args.threads < 1 or args.connections < args.threads:
        parser.error("need at least one thread and a connection per thread")
    return args


class Store:
    """The store the service runs on: embedded, or MongoDB at MONGODB_URI.

    On MongoDB every scenario gets a database of its own, dropped when the
    scenario ends; the JWT secret is the environment's or a fresh one.
    """

    def __init__(self, run_id):
        self.uri = os.environ.get("MONGODB_URI") or None
        self.run_id = run_id
        self.secret = os.environ.get("JWT_SECRET") or (
            secrets.token_hex(32) if self.uri else None
        )

    @property
    def embedded(self):
        return self.uri is None

    def app(self, database=None, **overrides):
        return seed.make_app(MONGODB_DB=database, JWT_SECRET=self.secret, **overrides)

    def describe(self):
        if self.embedded:
            return "embedded (mongomock, inside the gunicorn worker)"
        return f"MongoDB at {db.Database(self.app().config).host}"

    def database_name(self, scenario):
        return f"flight_bench_{self.run_id}_{scenario}"

    def drop(self, app):
        handle = app.extensions["flight_db"]
        client = handle.client()
        client.drop_database(handle.name)
        client.close()

    def check(self):
        """Fail early and plainly when MongoDB does not answer."""
        if self.embedded:
            return
        app = self.app()
        try:
            with app.app_context():
                db.ping()
        except PyMongoError as exc:
            raise load.CannotRun(
                f"MongoDB at {app.extensions['flight_db'].host} does not answer: {exc}"
            ) from None
        finally:
            app.extensions["flight_db"].client().close()


class Bench:
    def __init__(self, args, store, templates):
        self.args = args
        self.store = store
        self.templates = templates
        self.out = args.output
        self.token = seed.token(store.app())
        self.profiles = {}
        self.floor = None
        self.floors = {}
        self.throughput = {}

    # Scenarios -------------------------------------------------------------

    @contextlib.contextmanager
    def scenario(self, name, data):
        """The service under gunicorn, on a store holding just `data`."""
        overrides = {"JWT_SECRET": self.store.secret}
        app = None
        if self.store.embedded:
            seed_path = self.out / f"seed-{name}.json"
            seed.write(seed_path, data.documents())
            overrides["BENCH_SEED"] = seed_path
        else:
            overrides["MONGODB_DB"] = self.store.database_name(name)
            app = self.store.app(overrides["MONGODB_DB"])
        try:
            if app is not None:
                seed.load(app, data.documents())
                with app.app_context():
                    db.ensure_indexes()
            server = Server(
                name,
                "bench.serve:app",
                environment(**overrides),
                self.out / f"server-{name}.log",
                "/health",
            )
            try:
                yield server.start()
            finally:
                server.stop()
        finally:
            if app is not None:
                self.store.drop(app)

    def floor_server(self):
        document = self.templates.get_response
        path = self.out / "floor-document.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        return Server(
            "floor",
            "bench.floor:app",
            environment(BENCH_FLOOR_DOCUMENT=path),
            self.out / "server-floor.log",
            "/floor",
        ).start()

    # wrk runs --------------------------------------------------------------

    def wrk(
        self,
        server,
        label,
        requests,
        mode="cycle",
        warmup=None,
        seconds=None,
        sample=True,
    ):
        """Warm up on `warmup` (read-only requests), then measure `requests`.

        With --profile, py-spy samples the worker during runs with `sample`.
        """
        args = self.args
        seconds = seconds or args.seconds
        common = dict(
            connections=args.connections,
            threads=args.threads,
            max_per_thread=args.max_requests,
        )
        if args.warmup and warmup:
            path = self.out / f"targets-{label}-warmup.tsv"
            load.write_targets(path, self.token, warmup)
            load.run_wrk(
                server.base_url, path, mode="cycle", seconds=args.warmup, **common
            )
        path = self.out / f"targets-{label}.tsv"
        load.write_targets(path, self.token, requests)
        samplers = []
        if args.profile and sample:
            samplers = profile.start(server.worker_pids(), self.out, label, seconds)
        measured = load.run_wrk(
            server.base_url, path, mode=mode, seconds=seconds, **common
        )
        if samplers:
            self.profiles[label] = profile.finish(samplers)
            self.profiles[label]["requests"] = measured.requests
        return measured

    def route(self, route, server, label, requests, mode="cycle", warmup=None):
        """The route between two half-length runs of the floor.

        The route's share is of those two: on a machine busy with other
        work, the floor measured right beside a route is slowed alike, and
        a drift during the route shows as a gap between before and after.
        """
        half = max(1, self.args.seconds // 2)
        before = self.wrk(
            self.floor,
            f"floor-before-{label}",
            FLOOR_REQUESTS,
            warmup=FLOOR_REQUESTS,
            seconds=half,
            # One profile of the floor is enough to compare with.
            sample=not self.floors,
        )
        self.throughput[route] = self.wrk(server, label, requests, mode, warmup)
        after = self.wrk(
            self.floor,
            f"floor-after-{label}",
            FLOOR_REQUESTS,
            seconds=half,
            sample=False,
        )
        self.floors[route] = (before, after)
        return self.throughput[route]

    # The phases ------------------------------------------------------------

    def read_phase(self):
        """GET session, GET list and PATCH, on small deployments."""
        data = seed.Seed(self.templates)
        deps = [
            data.deployment(SESSIONS_PER_DEPLOYMENT) for _ in range(READ_DEPLOYMENTS)
        ]
        # Consecutive requests go to different deployments.
        sessions = [
            (dep, dep.sessions[i])
            for i in range(SESSIONS_PER_DEPLOYMENT)
            for dep in deps
        ]
        gets = [("GET", dep.session_url(s), None) for dep, (s, _) in sessions]
        lists = [("GET", dep.sessions_url, None) for dep in deps]
        # Each pass over the list sets every end to the other of two values,
        # so every PATCH changes the stored session.
        patches = [
            ("PATCH", dep.session_url(s), {"end_date_time": start + end})
            for end in (seed.LENGTH_MS + 1000, seed.LENGTH_MS + 2000)
            for dep, (s, start) in sessions
        ]
        with self.scenario("read", data) as server:
            get = self.route("GET session", server, "get", gets, warmup=gets)
            self.route("GET list", server, "list", lists, warmup=lists)
            self.route("PATCH session", server, "patch", patches, warmup=gets)
        return (
            get,
            f"{READ_DEPLOYMENTS} deployments of {SESSIONS_PER_DEPLOYMENT} sessions",
        )

    def budget(self, get_session):
        """Requests a POST or a DELETE run may send: more than GET managed.

        On the embedded store the cost of a write grows with the data the
        run itself piles up (next), so there the budget is fixed and a slow
        run stops on its time instead; on MongoDB it follows GET, so that
        the run lasts its full time.
        """
        by_rate = math.ceil(get_session.rps * self.args.seconds * 1.5) + 100
        if self.store.embedded:
            return min(by_rate, EMBEDDED_WRITE_BUDGET)
        return min(by_rate, 60_000)

    # The embedded store scans every document of a collection on each query
    # (about 5 us each) and walks and copies the document it writes: about
    # 7 us per session it holds for a POST, 22 us for a DELETE. B writes
    # spread over K deployments cost about 10 K plus that per B / 2K
    # sessions: the cheapest K is near sqrt(B / 3) for POST and sqrt(B) for
    # DELETE. On MongoDB, with its _id index, the layout hardly matters.

    @staticmethod
    def post_spread(budget):
        return max(5, math.isqrt(budget // 3))

    @staticmethod
    def delete_spread(budget):
        return max(5, math.isqrt(budget))

    def post_phase(self, budget):
        data = seed.Seed(self.templates)
        deps = [
            data.deployment(SESSIONS_PER_DEPLOYMENT)
            for _ in range(self.post_spread(budget))
        ]
        # The deployments in turn, `budget` POSTs in all.
        posts = [
            ("POST", dep.sessions_url, seed.session_body(dep.flight_plan_id))
            for _, dep in zip(range(budget), itertools.cycle(deps))
        ]
        lists = [("GET", dep.sessions_url, None) for dep in deps]
        with self.scenario("post", data) as server:
            self.route("POST session", server, "post", posts, "once", warmup=lists)
        return (
            f"{len(posts):,} sessions added to {len(deps)} deployments of "
            f"{SESSIONS_PER_DEPLOYMENT} in turn"
        )

    def delete_phase(self, budget):
        count = self.delete_spread(budget)
        per_deployment = math.ceil(budget / count)
        data = seed.Seed(self.templates)
        deps = [data.deployment(per_deployment) for _ in range(count)]
        deletes = [
            ("DELETE", dep.session_url(dep.sessions[i][0]), None)
            for i in range(per_deployment)
            for dep in deps
        ]
        lists = [("GET", dep.sessions_url, None) for dep in deps]
        with self.scenario("delete", data) as server:
            self.route(
                "DELETE session", server, "delete", deletes, mode="once", warmup=lists
            )
        return (
            f"{len(deletes):,} sessions in {count} deployments of {per_deployment}, "
            "each deleted once"
        )

    def growth_phase(self):
        """GET, PATCH and DELETE of one session, one request at a time."""
        data = seed.Seed(self.templates)
        deps = {size: data.deployment(size) for size in GROWTH_SIZES}
        results = {}
        with self.scenario("growth", data) as server:
            for size, dep in deps.items():
                results[size] = self.growth_cells(server, dep)
        return results

    def growth_cells(self, server, dep):
        args = self.args
        size = len(dep.sessions)
        samples = [
            dep.sessions[i * size // min(size, GROWTH_SAMPLES)]
            for i in range(min(size, GROWTH_SAMPLES))
        ]
        victims = [
            dep.sessions[i * size // min(size, args.growth_requests)]
            for i in range(min(size, args.growth_requests))
        ]
        client = load.TimedClient(server.port, self.token)

        def get(i):
            session_id, _ = samples[i % len(samples)]
            status, _, seconds = client.call("GET", dep.session_url(session_id))
            return status, seconds

        def patch(i):
            session_id, start = samples[i % len(samples)]
            end = start + seed.LENGTH_MS + 1000 * (1 + (i // len(samples)) % 2)
            body = {"end_date_time": end}
            status, _, seconds = client.call("PATCH", dep.session_url(session_id), body)
            return status, seconds

        def delete(i):
            # Only the DELETE is timed; the POST after it keeps the size.
            slot = i % len(victims)
            session_id, start = victims[slot]
            status, _, seconds = client.call("DELETE", dep.session_url(session_id))
            again, body, _ = client.call(
                "POST", dep.sessions_url, seed.session_body(dep.flight_plan_id, start)
            )
            if again != 200:
                raise RuntimeError(f"POST to keep the size answered {again}: {body}")
            victims[slot] = (body["data"]["flight_session_id"], start)
            return status, seconds

        try:
            for i in range(min(20, args.growth_requests)):
                get(i)
            cells = {
                name: load.timed_loop(step, args.growth_requests, args.growth_seconds)
                for name, step in (
                    ("GET session", get),
                    ("PATCH session", patch),
                    ("DELETE session", delete),
                )
            }
        finally:
            client.close()
        return cells

    def run(self, started):
        results = {"started": started}
        database = None
        if not self.store.embedded:
            database = self.store.database_name("round-trips")
        trips_app = self.store.app(database, DB_COMMAND_LOG=True)
        try:
            results["round_trips"] = round_trips.measure(
                trips_app, self.templates, GROWTH_SIZES
            )
        finally:
            if database is not None:
                self.store.drop(trips_app)
        print(report.round_trips(results["round_trips"]), flush=True)

        layout = {
            "floor_bytes": len(
                json.dumps(self.templates.get_response, separators=(",", ":"))
            )
        }
        self.floor = self.floor_server()
        try:
            get, layout["read"] = self.read_phase()
            budget = self.budget(get)
            layout["post"] = self.post_phase(budget)
            layout["delete"] = self.delete_phase(budget)
            results["growth"] = self.growth_phase()
        finally:
            self.floor.stop()
        results["throughput"] = self.throughput
        results["floors"] = self.floors
        results["layout"] = layout
        results["profiles"] = self.profiles
        return results


def gunicorn_settings():
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return (
        f"gunicorn.conf.py, bound to 127.0.0.1: {settings['workers']} worker(s) x "
        f"{settings['threads']} threads ({settings['worker_class']}), "
        f"keep-alive {settings['keepalive']} s"
    )


def machine_state():
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout
    return {
        "uptime": uptime.strip(),
        "load": os.getloadavg(),
        "cores": os.cpu_count(),
        "at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


def git_commit():
    def git(*command):
        result = subprocess.run(
            ["git", *command], cwd=ROOT, capture_output=True, text=True
        )
        return result.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" (with uncommitted changes)" if git("status", "--short") else "")


def main(argv=None):
    args = parse_args(argv)
    run_id = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d%H%M%S")
    store = Store(run_id)
    try:
        wrk = load.wrk_version()
        if args.profile:
            profile.check()
        store.check()
    except load.CannotRun as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    args.output.mkdir(parents=True, exist_ok=True)
    started = machine_state()
    context = {
        "commit": git_commit(),
        "store": store.describe(),
        "embedded": store.embedded,
        "gunicorn": gunicorn_settings(),
        "load": (
            f"{wrk}, {args.threads} thread(s), {args.connections} connections, "
            f"{args.seconds} s per route after {args.warmup} s of warm-up, the "
            f"floor {max(1, args.seconds // 2)} s before and after each"
        ),
        "growth": (
            f"one connection, one request at a time, at most "
            f"{args.growth_requests} requests or {args.growth_seconds} s per cell"
        ),
        "python": platform.python_version(),
        "command": "python -m bench " + " ".join(argv or sys.argv[1:]),
    }
    print(report.header(context, started), flush=True)

    clock = time.monotonic()
    bench = Bench(args, store, seed.make_templates())
    results = bench.run(started)
    results["ended"] = machine_state()
    results["context"] = context
    results["seconds"] = round(time.monotonic() - clock, 1)

    text = report.body(results)
    print(text)
    stamp = run_id
    (args.output / f"bench-{stamp}.md").write_text(
        report.header(context, started)
        + "\n"
        + report.round_trips(results["round_trips"])
        + "\n"
        + text,
        encoding="utf-8",
    )
    (args.output / f"bench-{stamp}.json").write_text(
        json.dumps(report.as_json(results), indent=2), encoding="utf-8"
    )
    print(f"\nTables and raw figures: {args.output}/bench-{stamp}.md, .json")
    return 0
