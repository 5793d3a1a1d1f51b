"""Conditional writes: filters that hold only while a document is as it was read."""


class ChangedMeanwhile(Exception):
    """The stored resource no longer equals the version the client named."""


def unchanged(expected, names, prefix=""):
    """Filter terms requiring each named field to still equal `expected`'s.

    A field `expected` lacks must still be absent. $eq keeps a stored
    sub-document compared as a value, never read as an operator.
    """
    return {
        f"{prefix}{name}": (
            {"$eq": expected[name]} if name in expected else {"$exists": False}
        )
        for name in names
    }


def differs(current, expected, names):
    return any(current.get(name) != expected.get(name) for name in names)
