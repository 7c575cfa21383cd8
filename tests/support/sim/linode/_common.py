"""Helpers shared by the Linode simulator's resource mixins.

X-Filter evaluation (the subset of the filtering language the API documents:
field equality, ``+and``/``+or``, ``+contains``/``+neq``/``+gt``/``+gte``/
``+lt``/``+lte``, ``+order_by``/``+order``), pagination in the Linode shape
``{data, page, pages, results}``, timestamps, and statuses that move over time.
"""
import json
import time

from tests.support.sim.base import ApiError, paginate

_OPS = {
    "+contains": lambda value, arg: arg in value if isinstance(value, str) else any(arg in v for v in value or ()),
    "+neq": lambda value, arg: value != arg,
    "+gt": lambda value, arg: value is not None and value > arg,
    "+gte": lambda value, arg: value is not None and value >= arg,
    "+lt": lambda value, arg: value is not None and value < arg,
    "+lte": lambda value, arg: value is not None and value <= arg,
}


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())


def invalid(reason, field=None):
    """A 400 the way Linode reports validation errors."""
    return ApiError(400, None, reason, field=field)


def not_found():
    return ApiError(404, None, "Not found")


def check_tags(tags, maximum=50):
    for tag in tags or ():
        if not 3 <= len(tag) <= maximum:
            raise invalid("Tag length must be between 3 and %d characters" % maximum, "tags")


def lookup(store, key, cast=int):
    """``store[cast(key)]`` with its statuses brought up to date, or the API's 404."""
    try:
        found = store.get(cast(key))
    except ValueError:
        found = None
    if found is None:
        raise not_found()
    if found.get("_timeline") is not None:
        found["_timeline"].advance()
    return found


def apply_update(obj, body, fields, tag_max=50):
    """A PUT: tags (checked) and the plain ``fields`` present in ``body``."""
    if "tags" in body:
        check_tags(body["tags"], tag_max)
        obj["tags"] = sorted(set(body["tags"]))
    for key in fields:
        if key in body:
            obj[key] = body[key]
    obj["updated"] = now()
    return obj


def _field_matches(value, cond):
    if isinstance(cond, dict):
        for op, arg in cond.items():
            if op not in _OPS:
                raise invalid("Invalid filter operator: %s" % op, "X-Filter")
            if not _OPS[op](value, arg):
                return False
        return True
    if isinstance(value, list):
        return cond in value
    return value == cond


def matches(obj, flt, filterable):
    """True when ``obj`` satisfies the X-Filter ``flt``; unknown fields are a 400 like the API's."""
    for key, cond in flt.items():
        if key in ("+order_by", "+order"):
            continue
        if key == "+and":
            if not all(matches(obj, f, filterable) for f in cond):
                return False
        elif key == "+or":
            if not any(matches(obj, f, filterable) for f in cond):
                return False
        elif key not in filterable:
            raise invalid("Cannot filter on %s" % key, "X-Filter")
        elif not _field_matches(obj.get(key), cond):
            return False
    return True


def listing(request, items, filterable=(), view=None):
    """A filtered, ordered page of ``items`` as the API returns it; ``view`` turns each object of the page
    into its answer (the filters read the objects' public keys, so only the page pays for its views)."""
    raw = request.headers.get("X-Filter")
    flt = {}
    if raw:
        try:
            flt = json.loads(raw)
        except ValueError:
            raise invalid("X-Filter is not valid JSON", "X-Filter")
        if not isinstance(flt, dict):
            raise invalid("X-Filter must be an object", "X-Filter")
    items = [i for i in items if matches(i, flt, set(filterable))]
    if "+order_by" in flt:
        items.sort(key=lambda i: (i.get(flt["+order_by"]) is None, i.get(flt["+order_by"])),
                   reverse=flt.get("+order") == "desc")
    page = request.arg("page", 1, int)
    page_size = request.arg("page_size", 100, int)
    if page < 1:
        raise invalid("page must be >= 1", "page")
    if not 25 <= page_size <= 500:
        raise invalid("page_size must be between 25 and 500", "page_size")
    data, page, pages = paginate(items, page, page_size)
    if view is not None:
        data = [view(item) for item in data]
    return {"data": data, "page": page, "pages": pages, "results": len(items)}


def listing_of(request, store, filterable):
    """``listing`` of every object of ``store`` (a dict), statuses brought up to date first."""
    for obj in store.values():
        if obj.get("_timeline") is not None:
            obj["_timeline"].advance()
    return listing(request, list(store.values()), filterable, public)


def public(obj):
    """The API view of a stored object: keys starting with ``_`` are the simulator's own."""
    return dict((k, v) for k, v in obj.items() if not k.startswith("_"))


class Timeline:
    """Statuses an object passes through, one ``step`` seconds apart."""

    def __init__(self, obj, key="status"):
        self.obj = obj
        self.key = key
        self.plan = []

    def then(self, step, *statuses):
        start = self.plan[-1][0] if self.plan else time.monotonic()
        for i, status in enumerate(statuses):
            self.plan.append((start + step * (i + 1), status))
        return self

    def clear(self):
        self.plan = []
        return self

    def advance(self):
        """Apply every transition that is due; return the (possibly moved) object."""
        moment = time.monotonic()
        while self.plan and self.plan[0][0] <= moment:
            dummy, status = self.plan.pop(0)
            if callable(status):
                status(self.obj)
            else:
                self.obj[self.key] = status
                self.obj["updated"] = now()
        return self.obj
