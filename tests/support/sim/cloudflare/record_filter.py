"""The filters and order of Cloudflare's DNS record list, as its document describes them.

``name``, ``type``, ``content``, ``proxied`` and the ``comment`` predicates combine under ``match``
(all: AND, any: OR); the ``tag`` predicates combine under ``tag_match`` first, and that result joins the
others under ``match``. Comment and tag filters are case-insensitive. ``search`` is left unspecified by the
document ("intended for human users"): here a case-insensitive substring of name, content or comment.
``order`` (type, name, content, ttl, proxied) and ``direction`` sort the result.
"""
from ..base import ApiError

_TEXT = {"exact": lambda have, want: have == want, "contains": lambda have, want: want in have,
         "startswith": lambda have, want: have.startswith(want), "endswith": lambda have, want: have.endswith(want)}


def _tags(record):
    """{name: value or None} of a record's tags (``name:value`` or ``name``), lower-cased."""
    out = {}
    for tag in record.get("tags") or ():
        name, sep, value = tag.lower().partition(":")
        out[name] = value if sep else None
    return out


def _tag_condition(predicate, raw):
    name, sep, value = raw.lower().partition(":")
    if predicate == "present":
        return lambda r: raw.lower() in _tags(r)
    if predicate == "absent":
        return lambda r: raw.lower() not in _tags(r)
    if not sep:
        raise ApiError(400, 1004, "DNS Validation Error: tag.%s needs <tag-name>:<tag-value>" % predicate)
    return lambda r: name in _tags(r) and _TEXT[predicate](_tags(r)[name] or "", value)


def _comment_condition(predicate, raw):
    want = raw.lower()
    if predicate == "present":
        return lambda r: bool(r.get("comment"))
    if predicate == "absent":
        return lambda r: not r.get("comment")
    return lambda r: bool(r.get("comment")) and _TEXT[predicate](r["comment"].lower(), want)


def conditions(arg):
    """``(field conditions, tag conditions)`` from the query (``arg(name)`` gives one value or None)."""
    fields, tags = [], []
    for key in ("name", "type", "content"):
        value = arg(key)
        if value is not None:
            want = value.rstrip(".").lower() if key == "name" else value
            fields.append(lambda r, k=key, w=want: r[k] == w)
    if arg("proxied") is not None:
        fields.append(lambda r, w=arg("proxied") == "true": bool(r.get("proxied")) == w)
    if arg("comment") is not None:
        fields.append(_comment_condition("exact", arg("comment")))
    for predicate in ("present", "absent", "exact", "contains", "startswith", "endswith"):
        if arg("comment." + predicate) is not None:
            fields.append(_comment_condition(predicate, arg("comment." + predicate)))
        if arg("tag." + predicate) is not None:
            tags.append(_tag_condition(predicate, arg("tag." + predicate)))
    if arg("tag") is not None:
        tags.append(_tag_condition("exact" if ":" in arg("tag") else "present", arg("tag")))
    if arg("search") is not None:
        needle = arg("search").lower()
        fields.append(lambda r: any(needle in (r.get(k) or "").lower() for k in ("name", "content", "comment")))
    return fields, tags


def select(records, arg):
    """The records the query selects, in the order it asks for."""
    fields, tags = conditions(arg)
    combine = any if arg("match") == "any" else all
    if tags:
        tag_combine = any if arg("tag_match") == "any" else all
        fields = fields + [lambda r: tag_combine(t(r) for t in tags)]
    found = [r for r in records if combine(c(r) for c in fields)] if fields else list(records)
    order = arg("order") or "type"
    found.sort(key=lambda r: (r.get(order) if order != "proxied" else bool(r.get("proxied")), r["name"], r["content"]),
               reverse=arg("direction") == "desc")
    return found
