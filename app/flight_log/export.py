"""CSV export: listings and summaries as text/csv, streamed in chunks."""

import csv
import io
from datetime import UTC, datetime, timedelta
from functools import wraps

from flask import Response, request
from flask_smorest import abort

CSV = "text/csv"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Rows per chunk sent to the client: memory stays flat whatever the size of
# the log, and the per-chunk cost stays small.
ROWS_PER_CHUNK = 500

SESSION_COLUMNS = (
    "flight_session_id",
    "flight_plan_id",
    "deployment_id",
    "start_date_time",
    "end_date_time",
)
STATS_COLUMNS = (
    "session_count",
    "total_flight_time_ms",
    "first_start_date_time",
    "last_end_date_time",
)
# Each of these is followed by a twin column `<name>_iso`.
TIME_COLUMNS = frozenset(
    ("start_date_time", "end_date_time", "first_start_date_time", "last_end_date_time")
)
PAGER_PARAMETERS = ("page", "page_size")


def _quality(accepted, media_type):
    """The client's quality for `media_type`, by its most specific range.

    Parameters are left aside: werkzeug's best_match would require them to
    equal the offer's, so `text/csv; charset=utf-8` or RFC 4180's
    `text/csv; header=present` would not be understood as asking for CSV.
    """
    ranges = {}
    for value, quality in accepted:
        ranges.setdefault(value.partition(";")[0].strip().lower(), quality)
    kind = media_type.partition("/")[0]
    for candidate in (media_type, f"{kind}/*", "*/*"):
        if candidate in ranges:
            return ranges[candidate]
    return 0


def wants_csv():
    """True when the Accept header prefers text/csv; JSON wins any tie."""
    accepted = request.accept_mimetypes
    return _quality(accepted, CSV) > _quality(accepted, "application/json")


def iso_utc(epoch_ms):
    """2018-05-28T01:00:00.000Z; whole-millisecond arithmetic, no float."""
    if epoch_ms is None:
        return ""
    moment = _EPOCH + timedelta(milliseconds=epoch_ms)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def header(columns):
    names = []
    for column in columns:
        names.append(column)
        if column in TIME_COLUMNS:
            names.append(f"{column}_iso")
    return names


def row(record, columns):
    cells = []
    for column in columns:
        value = record.get(column)
        cells.append("" if value is None else value)
        if column in TIME_COLUMNS:
            cells.append(iso_utc(value))
    return cells


def _chunks(records, columns):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header(columns))
    try:
        for count, record in enumerate(records, 1):
            writer.writerow(row(record, columns))
            if count % ROWS_PER_CHUNK == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        if buffer.tell():
            yield buffer.getvalue()
    finally:
        # Also reached when the client hangs up mid-export: let the server
        # drop its cursor now rather than when it times out.
        close = getattr(records, "close", None)
        if close is not None:
            close()


def csv_response(records, columns, filename):
    """A text/csv response written while `records` is read, chunk by chunk."""
    return Response(
        _chunks(records, columns),
        mimetype=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def refuse_pager_parameters():
    """An export is the whole filtered log: a page asked of it is a 422."""
    given = [name for name in PAGER_PARAMETERS if name in request.args]
    if given:
        message = "The CSV export is the whole filtered log; it takes no page."
        abort(422, message=message, errors={name: [message] for name in given})


def csv_instead(export):
    """Answer with `export(*args)` when CSV is wanted, else with the view.

    Placed above @blp.paginate: the pager would otherwise demand an item
    count for, and put its header on, a response that is not a page.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(view_self, *args, **kwargs):
            if wants_csv():
                return export(*args, **kwargs)
            return view(view_self, *args, **kwargs)

        return wrapper

    return decorator


def documented(description):
    """OpenAPI addition: the 200 response may also be text/csv."""
    return {
        "responses": {
            200: {
                "content": {
                    CSV: {"schema": {"type": "string", "description": description}}
                }
            }
        }
    }
