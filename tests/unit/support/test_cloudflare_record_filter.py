"""The Cloudflare simulator's list filters, as the document describes them."""
import pytest

from tests.support.sim.base import ApiError
from tests.support.sim.cloudflare.record_filter import select


def rec(name, rtype="A", content="192.0.2.1", comment=None, tags=(), proxied=False, ttl=60):
    return {"name": name, "type": rtype, "content": content, "comment": comment, "tags": list(tags),
            "proxied": proxied, "ttl": ttl}


RECORDS = [
    rec("edge.example.org", comment="Edge set, owned by home", tags=["owner:home", "important"]),
    rec("www.example.org", "CNAME", "edge.example.org", tags=["owner:other"], proxied=True),
    rec("mail.example.org", "TXT", "v=spf1 -all", comment="SPF"),
]


def names(**query):
    return [r["name"].split(".")[0] for r in select(RECORDS, query.get)]


@pytest.mark.parametrize("query, expected", [
    ({}, ["edge", "www", "mail"]),  # default order: type (A, CNAME, TXT)
    ({"proxied": "true"}, ["www"]),
    ({"comment": "spf"}, ["mail"]),
    ({"comment.present": ""}, ["edge", "mail"]),
    ({"comment.absent": ""}, ["www"]),
    ({"comment.contains": "OWNED"}, ["edge"]),
    ({"comment.startswith": "edge"}, ["edge"]),
    ({"tag": "important"}, ["edge"]),
    ({"tag": "owner:home"}, ["edge"]),
    ({"tag.startswith": "owner:ot"}, ["www"]),
    ({"tag.absent": "owner"}, ["mail"]),
    ({"tag.exact": "owner:home", "tag.present": "important"}, ["edge"]),
    ({"tag.exact": "owner:home", "tag.present": "nope", "tag_match": "any"}, ["edge"]),
    ({"type": "TXT", "proxied": "true", "match": "any"}, ["www", "mail"]),
    ({"search": "spf"}, ["mail"]),
    ({"order": "name"}, ["edge", "mail", "www"]),
    ({"order": "name", "direction": "desc"}, ["www", "mail", "edge"]),
    ({"name": "EDGE.example.org."}, ["edge"]),
])
def test_every_documented_filter_and_order(query, expected):
    assert names(**query) == expected


def test_a_tag_predicate_without_a_value_is_refused():
    with pytest.raises(ApiError):
        names(**{"tag.exact": "owner"})
