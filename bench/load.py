"""Load: wrk for throughput, one timed connection for latency growth."""

import http.client
import json
import math
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

LUA = Path(__file__).resolve().parent / "load.lua"


class CannotRun(Exception):
    """A tool the benchmark needs is missing, or its database does not answer."""


def wrk_version():
    if shutil.which("wrk") is None:
        raise CannotRun(
            "wrk is not installed; on Debian or Ubuntu: apt-get install -y wrk"
        )
    # wrk prints its version with the usage text and exits non-zero.
    result = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    first = (result.stdout or result.stderr).splitlines()[:1]
    return first[0].split("[")[0].strip() if first else "wrk"


@dataclass
class Measurement:
    """Throughput and latency of one route, from wrk or the timed client."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict = field(default_factory=dict)
    socket_errors: int = 0
    stopped_on_count: bool = False

    @property
    def rps(self):
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def unexpected(self):
        """Responses other than 200, and socket errors."""
        others = sum(n for code, n in self.statuses.items() if str(code) != "200")
        return others + self.socket_errors


def write_targets(path, token, requests):
    """The request list bench/load.lua replays: (method, path, body or None)."""
    with open(path, "w", encoding="utf-8") as target:
        target.write(f"H\tAuthorization\tBearer {token}\n")
        for method, url, body in requests:
            text = "" if body is None else json.dumps(body, separators=(",", ":"))
            target.write(f"R\t{method}\t{url}\t{text}\n")


def run_wrk(
    base_url,
    targets,
    *,
    mode,
    seconds,
    connections,
    threads,
    max_per_thread,
    timeout_s=10,
):
    """One bounded wrk run: `seconds` long at most, max_per_thread per thread."""
    command = [
        "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        f"--timeout={timeout_s}s",
        f"--script={LUA}",
        base_url + "/",
        "--",
        str(targets),
        mode,
        str(threads),
        str(max_per_thread),
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + timeout_s + 30
    )
    for line in result.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            data = json.loads(line.removeprefix("BENCH_RESULT "))
            return Measurement(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                statuses=data["statuses"],
                socket_errors=data["socket_errors"],
                stopped_on_count=data["exhausted"],
            )
    raise RuntimeError(
        f"wrk gave no result (exit {result.returncode}): "
        f"{result.stderr.strip() or result.stdout.strip()}"
    )


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


class TimedClient:
    """One keep-alive connection to 127.0.0.1; times each request it sends."""

    def __init__(self, port, token):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method, url, body=None):
        """(status, decoded JSON body, seconds)."""
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        self.connection.request(method, url, body=data, headers=headers)
        response = self.connection.getresponse()
        payload = response.read()
        elapsed = time.perf_counter() - started
        return response.status, json.loads(payload) if payload else None, elapsed

    def close(self):
        self.connection.close()


def timed_loop(step, max_requests, max_seconds):
    """Call step() until either bound is reached; step returns (status, s).

    Only the time step() reports counts as latency: a step may do untimed
    work of its own (the DELETE loop puts a session back after each one).
    """
    latencies, statuses = [], {}
    deadline = time.monotonic() + max_seconds
    while len(latencies) < max_requests and time.monotonic() < deadline:
        status, seconds = step(len(latencies))
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        latencies.append(seconds)
    return Measurement(
        requests=len(latencies),
        seconds=sum(latencies),
        p50_ms=percentile(latencies, 0.5) * 1000 if latencies else 0.0,
        p99_ms=percentile(latencies, 0.99) * 1000 if latencies else 0.0,
        statuses=statuses,
    )
