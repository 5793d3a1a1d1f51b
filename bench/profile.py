"""py-spy sampling of the gunicorn worker during each wrk run (--profile)."""

import math
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.load import CannotRun
from bench.servers import ROOT

# Samples per second.
RATE = 200


def _py_spy():
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def check():
    if _py_spy() is None:
        raise CannotRun(
            "py-spy is not installed: pip install -r requirements-bench.txt"
        )


def start(pids, out, label, seconds):
    """One py-spy per worker, for as long as the run; (process, file) pairs."""
    samplers = []
    for pid in pids:
        path = out / f"profile-{label}-{pid}.txt"
        command = [
            _py_spy(),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(math.ceil(seconds)),
            "--rate",
            str(RATE),
            # Sampling without pausing the worker keeps its figures closer.
            "--nonblocking",
            # The worker is bound by the GIL: where the thread holding it is
            # says where the worker's time goes; waiting threads say nothing.
            "--gil",
            "--format",
            "raw",
            "--output",
            str(path),
        ]
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        samplers.append((process, path))
    return samplers


def finish(samplers, top=20):
    """Wait for the samplers; the functions most often on the stack."""
    for process, _ in samplers:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return summarize([path for _, path in samplers], top)


def summarize(paths, top=20):
    """Share of samples each function is on the stack (inclusive) or on top.

    py-spy's raw format is one collapsed stack per line, frames joined by
    ";" from the thread's entry down, then the sample count.
    """
    total, inclusive, own = 0, Counter(), Counter()
    for path in paths:
        if not Path(path).exists():
            continue
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            total += n
            frames = [_function(frame) for frame in stack.split(";")]
            for frame in set(frames):
                inclusive[frame] += n
            own[frames[-1]] += n

    def ranked(counter, keep):
        return [
            (frame, round(100 * n / total, 1))
            for frame, n in counter.most_common()
            if keep(frame)
        ][:top]

    return {
        "samples": total,
        "seconds_held": total / RATE,
        # The service's own functions, with all they call.
        "service": ranked(inclusive, lambda frame: "(app/" in frame),
        "own": ranked(own, lambda frame: True),
        "files": [str(p) for p in paths],
    }


def _function(frame):
    """'find_one (mongomock/collection.py:1356)' without the line number."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for prefix in ("site-packages/", f"{ROOT}/", "/lib/python3"):
        if prefix in where:
            where = where.split(prefix, 1)[1]
    return f"{name} ({where})" if where else name
