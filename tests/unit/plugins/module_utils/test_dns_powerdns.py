"""PowerDNS backend pieces that need no server: TXT presentation format and error classification."""
import pytest
import requests

from ansible_collections.talos.autoextender.plugins.module_utils._dns import powerdns


@pytest.mark.parametrize("text", ["plain", 'with "quotes"', "back\\slash", "", "semi;colon = x,y"])
def test_txt_round_trip(text):
    assert powerdns.unquote_txt(powerdns.quote_txt(text)) == text


def test_txt_several_strings_and_decimal_escapes():
    assert powerdns.unquote_txt('"part one " "part two"') == "part one part two"
    assert powerdns.unquote_txt('"caf\\195\\169"') == "caf\u00e9"


def _http_error(status, body, headers=None):
    response = requests.models.Response()
    response.status_code = status
    response._content = body.encode()
    response.headers.update(headers or {})
    return requests.HTTPError(response=response)


def test_classify_http_errors():
    failure = powerdns.classify(_http_error(422, '{"error": "RRset x. IN CNAME: Conflicts with pre-existing RRset"}'))
    assert failure.status == 422 and failure.kind == "validation" and "Conflicts" in failure.message
    failure = powerdns.classify(_http_error(429, "slow down", {"Retry-After": "7"}))
    assert failure.retryable and failure.retry_after == 7.0
    failure = powerdns.classify(_http_error(401, "Unauthorized"))
    assert failure.kind == "auth" and not failure.retryable and failure.message == "HTTP 401: Unauthorized"


def test_classify_connection_errors():
    failure = powerdns.classify(requests.ConnectionError("refused"))
    assert failure.connection and failure.retryable and "cannot reach" in failure.message
