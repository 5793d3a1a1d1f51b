"""Markdown tables of a benchmark run, and its raw figures as JSON."""

import dataclasses

# Throughput a route should reach, as a share of the floor's.
FLOOR_TARGETS = {"GET session": 1 / 2, "POST session": 1 / 3}
GROWTH_TARGET = 2
ROUTES = ("GET session", "GET list", "POST session", "PATCH session", "DELETE session")


def _ms(value):
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _size(n):
    return f"{n:,}"


def header(context, state):
    return "\n".join(
        [
            "# Flight session service: benchmark",
            "",
            f"- command: `{context['command'].strip()}`",
            f"- commit {context['commit']}, {state['at']}, Python {context['python']}",
            f"- store: {context['store']}",
            f"- server: {context['gunicorn']}",
            f"- load: {context['load']}",
            f"- growth: {context['growth']}",
            f"- machine: {state['cores']} cores; at the start `{state['uptime']}`",
            "",
        ]
    )


def round_trips(rows):
    sizes = sorted({size for row in rows for size in row.reply_bytes})
    size_names = " / ".join(_size(s) for s in sizes)
    lines = [
        "## Database round trips per request",
        "",
        "Counted in-process with the CommandLog of app/db.py (pymongo command "
        "monitoring on MongoDB, the embedded store's calls otherwise), once in "
        f"deployments of {size_names} sessions: the commands are the same at "
        "every size.",
        "",
        "| route | commands | round trips | target | | one session fetched "
        f"with `$elemMatch` | bytes fetched at {size_names} sessions |",
        "|---|---|---:|---:|---|---|---|",
    ]
    for row in rows:
        verdict = {None: "-", True: "met", False: "**missed**"}[row.met]
        projection = {None: "-", True: "yes", False: "**no**"}[row.session_projection]
        fetched = "-"
        if row.session_projection is not None:
            fetched = " / ".join(str(row.reply_bytes[s]) for s in sizes)
        lines.append(
            f"| {row.route} | {', '.join(row.commands)} | {row.count} | "
            f"{'-' if row.target is None else row.target} | {verdict} | "
            f"{projection} | {fetched} |"
        )
    misses = [row for row in rows if row.met is False]
    if misses:
        lines.append("")
    for row in misses:
        lines.append(
            f"- {row.route} misses its target: {row.reason or 'reason unknown'}."
        )
    return "\n".join(lines) + "\n"


def body(results):
    lines = [*_throughput(results), "", *_growth(results), ""]
    lines += _profiles(results.get("profiles") or {})
    ended = results["ended"]
    lines += [
        f"Ran in {results['seconds']:.0f} s. At the end `{ended['uptime']}`.",
    ]
    return "\n".join(lines)


def _throughput(results):
    throughput, floors, layout = (
        results["throughput"],
        results["floors"],
        results["layout"],
    )
    lines = [
        "## Throughput against the floor",
        "",
        "| route | requests | req/s | p50 ms | p99 ms | other than 200 | "
        "floor req/s before / after | share of floor | target | |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    runs = [run for pair in floors.values() for run in pair]
    if runs:
        rps = sum(m.requests for m in runs) / sum(m.seconds for m in runs)
        p50 = sorted(m.p50_ms for m in runs)[len(runs) // 2]
        p99 = sorted(m.p99_ms for m in runs)[len(runs) // 2]
        lines.append(
            f"| floor: bare Flask, the same {layout['floor_bytes']}-byte JSON | "
            f"{sum(m.requests for m in runs):,} | {rps:,.0f} | {_ms(p50)} | "
            f"{_ms(p99)} | {sum(m.unexpected for m in runs)} | | 1 | | |"
        )
    for route in ROUTES:
        m, pair = throughput.get(route), floors.get(route)
        if m is None or pair is None:
            continue
        floor_rps = sum(f.requests for f in pair) / sum(f.seconds for f in pair)
        share = m.rps / floor_rps if floor_rps else 0.0
        target, verdict = "", ""
        if route in FLOOR_TARGETS:
            wanted = FLOOR_TARGETS[route]
            target = f">= {wanted:.2f}"
            verdict = "met" if share >= wanted else "**missed**"
        lines.append(
            f"| {route} | {m.requests:,} | {m.rps:,.0f} | {_ms(m.p50_ms)} | "
            f"{_ms(m.p99_ms)} | {m.unexpected} | "
            f"{' / '.join(f'{f.rps:,.0f}' for f in pair)} | {share:.2f} | "
            f"{target} | {verdict} |"
        )
    if runs:
        low, high = min(m.rps for m in runs), max(m.rps for m in runs)
        lines += [
            "",
            f"The floor runs for half as long just before and just after each "
            f"route, and a route's share is of those two runs together. Over "
            f"the whole benchmark the floor ranged from {low:,.0f} to "
            f"{high:,.0f} req/s; its row sums all its runs, with the median "
            "run's percentiles.",
        ]
    lines.append(
        f"Data: GET session, GET list (10 sessions) and PATCH aim at "
        f"{layout['read']}; POST at {layout['post']}; DELETE at {layout['delete']}."
    )
    stopped = [k for k, m in throughput.items() if m.stopped_on_count]
    if stopped:
        lines.append(
            f"Stopped on their request bound before the time was up: "
            f"{', '.join(stopped)}."
        )
    return lines


def _growth(results):
    growth = results["growth"]
    sizes = sorted(growth)
    embedded = results["context"]["embedded"]
    small, large = sizes[0], sizes[-1]
    lines = [
        f"## Growth: one session in deployments of "
        f"{' / '.join(_size(s) for s in sizes)} sessions",
        "",
        "| route | "
        + " | ".join(f"{_size(s)}: p50 / p99 ms (requests)" for s in sizes)
        + f" | p50 {_size(large)} / {_size(small)} | target | |",
        "|---|" + "---:|" * len(sizes) + "---:|---:|---|",
    ]
    for route in ("GET session", "PATCH session", "DELETE session"):
        cells = [growth[s][route] for s in sizes]
        ratio = cells[-1].p50_ms / cells[0].p50_ms if cells[0].p50_ms else 0.0
        if embedded:
            verdict = "not measurable on the embedded store"
        else:
            verdict = "met" if ratio <= GROWTH_TARGET else "**missed**"
        bad = sum(c.unexpected for c in cells)
        flag = f" ({bad} other than 200)" if bad else ""
        lines.append(
            f"| {route}{flag} | "
            + " | ".join(
                f"{_ms(c.p50_ms)} / {_ms(c.p99_ms)} ({c.requests})" for c in cells
            )
            + f" | {ratio:.1f} | <= {GROWTH_TARGET} on MongoDB | {verdict} |"
        )
    lines += [
        "",
        "One connection, one request at a time; each DELETE is followed by an "
        "untimed POST, so the size holds.",
    ]
    if embedded:
        lines.append(
            "On the embedded store the growth is mongomock's: it copies the whole "
            "deployment document on every read and update before projecting, so "
            "these ratios are a property of the embedded store, not of MongoDB. "
            "The bytes fetched for one session (round-trip table) do not grow. "
            "Run with MONGODB_URI set to measure the target."
        )
    return lines


def _profiles(profiles):
    lines = []
    for label, summary in profiles.items():
        per_request = 1000 * summary["seconds_held"] / max(1, summary["requests"])
        lines += [
            f"### Profile: {label}",
            "",
            f"py-spy sampled the thread holding the GIL {summary['samples']:,} "
            f"times: {per_request:.2f} ms of GIL per request "
            f"({summary['requests']:,} requests).",
            "",
            "| on the stack | service function | | on top | function |",
            "|---:|---|---|---:|---|",
        ]
        service, own = summary["service"], summary["own"]
        for i in range(max(len(service), len(own))):
            a = service[i] if i < len(service) else ("", None)
            b = own[i] if i < len(own) else ("", None)
            lines.append(
                f"| {_share(a[1])} | {_code(a[0])} | | {_share(b[1])} | {_code(b[0])} |"
            )
        lines.append("")
    return lines


def _share(value):
    return "" if value is None else f"{value:.1f}%"


def _code(text):
    return f"`{text}`" if text else ""


def as_json(results):
    def plain(value):
        if dataclasses.is_dataclass(value):
            data = dataclasses.asdict(value)
            if hasattr(value, "rps"):
                data["rps"] = round(value.rps, 1)
            return data
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    return plain(results)
