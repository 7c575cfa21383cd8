"""Small helpers shared by the Hetzner simulator's mixins."""
import datetime
import ipaddress

from tests.support.sim.base import ApiError, paginate
from tests.support.sim.hetzner import labels

MAX_PER_PAGE = 50


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def page(request, key, items, view=None):
    """A list response with ``meta.pagination`` the way Hetzner sends it.

    ``view`` turns a stored object into its answer; only the page's objects are turned, so a page of a
    long list costs what the page costs (the filters and sort keys read the stored objects).
    """
    per_page = min(MAX_PER_PAGE, request.arg("per_page", 25, int))
    number = max(1, request.arg("page", 1, int))
    chunk, number, last = paginate(items, number, per_page)
    if view is not None:
        chunk = [view(item) for item in chunk]
    return {key: chunk, "meta": {"pagination": {
        "page": number, "per_page": per_page,
        "previous_page": number - 1 if number > 1 else None,
        "next_page": number + 1 if number < last else None,
        "last_page": last, "total_entries": len(items)}}}


def field_error(field, message, code="invalid_input"):
    """422 ``invalid_input`` naming the field, as the API reports bad input."""
    return ApiError(422, code, "invalid input in field '%s'" % field,
                    details={"fields": [{"name": field, "messages": [message]}]})


def not_found(kind):
    return ApiError(404, "not_found", "%s not found" % kind)


def int_id(request, name="id"):
    try:
        return int(request.params[name])
    except ValueError:
        raise ApiError(400, "invalid_input", "invalid id")


def valid_ip(value, version):
    try:
        return ipaddress.ip_address(value).version == version
    except ValueError:
        return False


def sort_items(request, items):
    for spec in reversed(request.query.get("sort", [])):
        key, dummy, direction = spec.partition(":")
        items = sorted(items, key=lambda item: item.get(key), reverse=direction == "desc")
    return items


def update_named(item, body, siblings, kind):
    """``PUT`` of a named resource: labels replace the old ones; a new name must be unique."""
    if "labels" in body:
        labels.check(body["labels"])
        item["labels"] = dict(body["labels"])
    if body.get("name"):
        if any(other["name"] == body["name"] and other is not item for other in siblings):
            raise ApiError(409, "uniqueness_error", "%s name is already used" % kind)
        item["name"] = body["name"]
