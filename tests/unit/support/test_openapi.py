"""The spec checker must catch what the simulators could get wrong."""
import pytest

from tests.conftest import spec_path
from tests.support.openapi import OpenAPISpec, _convert, load_spec


def hetzner():
    return load_spec(spec_path("hetzner", "hcloud-openapi-unofficial.json"), "/v1")


def test_nullable_becomes_a_null_type():
    schema = _convert({"type": "string", "nullable": True, "enum": ["a"]}, "response")
    assert schema == {"type": ["string", "null"], "enum": ["a", None]}
    ref = _convert({"$ref": "#/x", "nullable": True}, "response")
    assert ref == {"anyOf": [{"type": "null"}, {"$ref": "#/x"}]}


def test_read_only_properties_are_not_required_in_requests():
    schema = {"type": "object", "required": ["id", "name"],
              "properties": {"id": {"type": "integer", "readOnly": True}, "name": {"type": "string"}}}
    assert _convert(schema, "request")["required"] == ["name"]
    assert _convert(schema, "response")["required"] == ["id", "name"]


def test_all_of_members_closed_individually_are_merged():
    doc = {"components": {"schemas": {"base": {"type": "object", "additionalProperties": False,
                                               "properties": {"a": {"type": "string"}}}}}}
    schema = {"allOf": [{"$ref": "#/components/schemas/base"},
                        {"type": "object", "additionalProperties": False, "properties": {"b": {"type": "integer"}}}]}
    merged = _convert(schema, "request", doc)
    assert set(merged["properties"]) == {"a", "b"}
    assert merged["additionalProperties"] is False


def test_a_valid_request_and_response_pass():
    spec = hetzner()
    assert spec.check_request("POST", "/v1/servers", {}, {"name": "a", "server_type": "cx22", "image": "debian-12"}) == []
    page = {"page": 1, "per_page": 25, "previous_page": None, "next_page": None, "last_page": 1, "total_entries": 0}
    assert spec.check_response("GET", "/v1/servers", 200, {"servers": [], "meta": {"pagination": page}}) == []


@pytest.mark.parametrize("body, needle", [
    ({"name": 3, "server_type": "cx22", "image": "x"}, "is not of type 'string'"),
    ({"name": "a"}, "'server_type' is a required property"),
])
def test_bad_request_bodies_are_reported(body, needle):
    violations = hetzner().check_request("POST", "/v1/servers", {}, body)
    assert any(needle in v for v in violations), violations


def test_bad_responses_undocumented_paths_and_query_types_are_reported():
    spec = hetzner()
    assert spec.check_response("GET", "/v1/servers", 200, {"servers": "nope"})
    assert spec.check_request("GET", "/v1/no-such-thing", {}, None)
    assert spec.check_request("GET", "/v1/servers", {"page": ["x"]}, None)
    assert spec.check_response("GET", "/v1/servers/1", 404, {"error": {"code": "not_found", "message": "x", "details": None}}) == []
    assert spec.check_response("GET", "/v1/servers/1", 404, {"nope": 1})


def test_literal_paths_win_over_templates():
    spec = load_spec(spec_path("linode", "openapi-v4.189.0.yaml"))
    template = spec.operation("POST", "/v4/images/upload")[0]
    assert template == "/{apiVersion}/images/upload"


def test_known_defects_are_dropped_only_when_listed():
    path = spec_path("hetzner", "hcloud-openapi-unofficial.json")
    strict = OpenAPISpec(path, "/v1")
    lenient = OpenAPISpec(path, "/v1", known_defects=[(r"'server_type' is a required", "test")])
    assert strict.check_request("POST", "/v1/servers", {}, {"name": "a", "image": "x"})
    assert lenient.check_request("POST", "/v1/servers", {}, {"name": "a", "image": "x"}) == []


def test_query_parameters_given_as_refs_are_checked():
    spec = load_spec(spec_path("cloudflare", "openapi-2024-08-06.json"), "/client/v4")
    assert spec.check_request("GET", "/client/v4/zones/abc/dns_records", {"type": ["A"]}, None) == []
    assert spec.check_request("GET", "/client/v4/zones/abc/dns_records", {"type": ["NOPE"]}, None)


def test_array_query_parameters_are_checked_per_item():
    spec = hetzner()
    assert spec.check_request("GET", "/v1/images", {"type": ["snapshot", "system"]}, None) == []
    assert spec.check_request("GET", "/v1/images", {"type": ["floppy"]}, None)


def test_an_undocumented_query_parameter_is_a_violation():
    spec = hetzner()
    assert spec.check_request("GET", "/v1/servers", {"page": ["1"], "per_page": ["50"]}, None) == []
    assert spec.check_request("GET", "/v1/servers", {"limit": ["50"]}, None) == [
        "GET /servers: query parameter limit is not documented"]


def test_path_parameters_are_checked_against_their_schema():
    spec = hetzner()
    assert spec.check_request("GET", "/v1/servers/42", {}, None) == []
    assert spec.check_request("GET", "/v1/servers/web-1", {}, None) == [
        "GET /servers/{id}: path id='web-1': not a valid integer"]


def test_documented_header_parameters_are_checked_when_headers_are_given():
    spec = load_spec(spec_path("linode", "openapi-v4.189.0.yaml"))
    path = "/v4/linode/instances"
    assert spec.check_request("GET", path, {}, None, headers={"X-Filter": '{"label": "edge-1"}'}) == []
    assert spec.check_request("GET", path, {}, None, headers={"X-Filter": "label=edge-1"}) == [
        "GET /{apiVersion}/linode/instances: header X-Filter='label=edge-1': not a valid JSON object"]
    assert spec.check_request("GET", path, {}, None, headers={"X-Filter": '["label"]'})
    assert spec.check_request("GET", path, {}, None) == []  # not required


def test_a_slash_parameter_spans_two_segments_and_no_more():
    path = spec_path("linode", "openapi-v4.189.0.yaml")
    strict, lenient = OpenAPISpec(path), OpenAPISpec(path, slash_params=("imageId",))
    assert strict.operation("GET", "/v4/images/private/123") is None
    assert lenient.operation("GET", "/v4/images/private/123")[2] == {"apiVersion": "v4", "imageId": "private/123"}
    assert lenient.operation("GET", "/v4/images/linode/debian12/regions") is None  # GET is not documented there
    assert lenient.operation("POST", "/v4/images/private/123/regions")[0] == "/{apiVersion}/images/{imageId}/regions"
    assert lenient.operation("GET", "/v4/images/a/b/c") is None
