"""The official Cloudflare document, loaded once, and its known defects.

``KNOWN_DEFECTS``: the genuine defects of the document, each with its reason.
"""
import functools

from ...openapi import OpenAPISpec

BASE_PATH = "/client/v4"

#: Genuine defects of the official document (regex, why); listed in docs/external-dns.md.
KNOWN_DEFECTS = (
    (r"^(POST|PUT) /zones/\{zone_id\}/dns_records(/\{dns_record_id\})?: request \(body\): 'id' is a required property$",
     "the create and overwrite request bodies reuse the response schema dns-records_dns-record, whose 'required' "
     "lists the server-assigned 'id' (the other server fields it lists are readOnly and already exempt)"),
    (r"^DELETE /zones/\{zone_id\}/dns_records/\{dns_record_id\}: request body is required$",
     "the delete operation declares a required JSON body without a schema; the API and Cloudflare's own SDKs "
     "send none"),
    (r" -> 429: errors/0/code: 971 is less than the minimum of 1000$",
     "the document's error items say '\"code\": {\"minimum\": 1000, \"type\": \"integer\"}' (dns-records_messages, "
     "aaa_messages, ...), while the API answers a rate-limited request with code 971, 'Please wait and consider "
     "throttling your request speed'"),
)

#: Fault statuses beyond the document (regex on "METHOD /template: status N", why); the fault's body is
#: checked as the operation's documented 4XX error answer.
FAULTS_BEYOND_THE_DOCUMENT = (
    (r"^(GET|POST|PUT|PATCH|DELETE) /zones\S*: status 5\d\d$",
     "the zone and DNS operations document only 200 and 4XX, yet the API answers 5xx during incidents; clients "
     "must handle them, so the simulator answers them, in the documented error form, when a test arms that fault"),
)


@functools.lru_cache(maxsize=None)
def load(path):
    """The cached spec for ``path`` (the 4 MB document parses in well under a second)."""
    return OpenAPISpec(path, BASE_PATH, KNOWN_DEFECTS)
