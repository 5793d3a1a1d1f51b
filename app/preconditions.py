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


def all_of(*filters):
    """One filter requiring every one given.

    A term on a field already constrained joins the others under $and,
    never replacing them: a version check on end_date_time must not undo
    the time rule on that same field.
    """
    joined = {}
    for terms in filters:
        for name, condition in terms.items():
            if name in joined:
                joined.setdefault("$and", []).append({name: condition})
            else:
                joined[name] = condition
    return joined


def differs(current, expected, names):
    return any(current.get(name) != expected.get(name) for name in names)
