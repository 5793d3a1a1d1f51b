"""Running requests at the same moment, each thread with its own test client."""

import threading


def parallel(app, calls, timeout=60):
    """Run each call(client) in its own thread, all released together.

    Returns the answers in the order of `calls`; an exception in a thread
    is raised here.
    """
    start = threading.Barrier(len(calls))
    answers = [None] * len(calls)
    failures = []

    def run(index, call):
        client = app.test_client()
        try:
            start.wait(timeout)
            answers[index] = call(client)
        except BaseException as exc:  # reported to the test below
            failures.append(exc)

    threads = [
        threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(t.is_alive() for t in threads), "a request never returned"
    if failures:
        raise failures[0]
    return answers
