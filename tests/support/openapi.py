"""Check HTTP requests and responses against an official OpenAPI 3.0 document.

The simulators of cloud APIs (tests/support/sim) run every request they serve
and every response they send through ``OpenAPISpec.check_request`` and
``check_response``; a mismatch is recorded as a violation and fails the test.
This is what keeps a simulator faithful: it cannot invent a field, a status
code or an endpoint the real API does not document.

OpenAPI 3.0 schemas are not quite JSON Schema: ``nullable`` is rewritten to a
``null`` type, ``readOnly`` properties are not required in requests and
``writeOnly`` ones not in responses. References are resolved inside the
document through a ``referencing`` registry.
"""
import copy
import functools
import json
import re
import threading

import jsonschema
import referencing
import referencing.jsonschema
import yaml

try:
    import fastjsonschema
except ImportError:  # the reference validator alone: slower, same verdicts
    fastjsonschema = None

_ROOT = "urn:openapi:"


def _load(path):
    with open(path, "rb") as f:
        if path.endswith(".json"):
            return json.load(f)
        return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _deref(doc, ref):
    node = doc
    for part in ref.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _inline(doc, node, depth=0):
    """``node`` with its ``$ref``s replaced by what they point to (small schemas only)."""
    while isinstance(node, dict) and "$ref" in node and depth < 8:
        node = _deref(doc, node["$ref"])
    if isinstance(node, dict):
        return dict((k, _inline(doc, v, depth + 1)) for k, v in node.items())
    if isinstance(node, list):
        return [_inline(doc, v, depth + 1) for v in node]
    return node


def _merge_all_of(doc, members, mode):
    """Merge ``allOf`` object members into one schema.

    Some documents (Linode's) put ``additionalProperties: false`` on each
    member, meaning "no properties beyond the merged ones"; read literally
    as JSON Schema no object could pass, so the members are merged first.
    """
    merged = {"type": "object", "properties": {}}
    closed = False
    required = []
    for member in members:
        while isinstance(member, dict) and "$ref" in member:
            member = _deref(doc, member["$ref"])
        if not isinstance(member, dict) or "allOf" in member and not _objectish(member):
            return None
        if "allOf" in member:
            member = _merge_all_of(doc, member["allOf"], mode) or member
        if not _objectish(member):
            return None
        merged["properties"].update(member.get("properties", {}))
        required += [r for r in member.get("required", []) if r not in required]
        closed = closed or member.get("additionalProperties") is False
        for key in ("description", "nullable", "readOnly", "writeOnly"):
            if key in member:
                merged[key] = member[key]
    if required:
        merged["required"] = required
    if closed:
        merged["additionalProperties"] = False
    return merged


def _property_defs(doc, node, depth=0):
    """``{name: [definitions]}`` of a schema's properties, also those of its
    ``allOf``/``oneOf``/``anyOf`` members (a ``required`` list may name them)."""
    defs = {}
    for name, prop in (node.get("properties") or {}).items():
        defs.setdefault(name, []).append(prop)
    if depth < 4:
        for key in ("allOf", "oneOf", "anyOf"):
            for member in node.get(key) or ():
                while isinstance(member, dict) and "$ref" in member and doc is not None:
                    member = _deref(doc, member["$ref"])
                if isinstance(member, dict):
                    for name, found in _property_defs(doc, member, depth + 1).items():
                        defs.setdefault(name, []).extend(found)
    return defs


def _hidden(doc, prop, mode):
    """True for a property that may be absent in ``mode`` (readOnly in requests...)."""
    flag = "readOnly" if mode == "request" else "writeOnly"
    while isinstance(prop, dict) and "$ref" in prop and doc is not None and not prop.get(flag):
        prop = _deref(doc, prop["$ref"])
    return isinstance(prop, dict) and bool(prop.get(flag))


def _objectish(schema):
    return set(schema) <= {"type", "properties", "required", "additionalProperties", "description", "title",
                           "example", "examples", "nullable", "readOnly", "writeOnly", "allOf", "x-linode-ref-name",
                           "x-akamai"} and schema.get("type", "object") == "object"


def _convert(node, mode, doc=None):
    """Rewrite an OpenAPI 3.0 schema tree into JSON Schema for ``mode``."""
    if isinstance(node, list):
        return [_convert(n, mode, doc) for n in node]
    if not isinstance(node, dict):
        return node
    if doc is not None and isinstance(node.get("allOf"), list) and _objectish(node):
        merged = _merge_all_of(doc, node["allOf"], mode)
        if merged is not None:
            extra = dict((k, v) for k, v in node.items() if k != "allOf")
            props = dict(merged.pop("properties"))
            props.update(extra.pop("properties", {}))
            node = dict(merged, **extra)
            node["properties"] = props
    out = dict((k, _convert(v, mode, doc)) for k, v in node.items() if k not in ("example", "examples", "discriminator"))
    if isinstance(out.get("required"), list):
        props = _property_defs(doc, node)
        out["required"] = [r for r in out["required"] if not any(_hidden(doc, p, mode) for p in props.get(r, ()))]
        if not out["required"]:
            del out["required"]
    if out.pop("nullable", False) is True:
        if "$ref" in out or "type" not in out:
            out = {"anyOf": [{"type": "null"}, out]}
        else:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = types + ["null"]
            if "enum" in out:
                out["enum"] = list(out["enum"]) + [None]
    return out


#: a path parameter that may span two segments (``slash_params``: Linode's image IDs, ``private/123``)
_PARAM_SLASH = "([^/]+(?:/[^/]+)?)"


def _pointer(*parts):
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class OpenAPISpec:
    """One OpenAPI document; ``base_path`` is the server URL path (``/v1``)."""

    def __init__(self, path, base_path="", known_defects=(), slash_params=()):
        self.path = path
        # (regex, why) pairs: violations that are defects of the document
        # itself, not of the simulator; each must say why it is ignored.
        self.known_defects = [(re.compile(rx), why) for rx, why in known_defects]
        self.doc = _load(path)
        self.base_path = base_path.rstrip("/")
        self._ops = []
        self._registries = {}
        self._compiled = {}
        self._lock = threading.Lock()
        for template, item in self.doc["paths"].items():
            names = re.findall(r"{([^}]+)}", template)
            regex = "^" + re.sub(r"\\{([^}]+)\\}", lambda m: _PARAM_SLASH if m.group(1) in slash_params else "([^/]+)",
                                 re.escape(template)) + "$"
            for method, op in item.items():
                if method in ("get", "put", "post", "delete", "patch"):
                    params = list(item.get("parameters", [])) + list(op.get("parameters", []))
                    self._ops.append((len(names), re.compile(regex), names, method.upper(), template, op, params))
        # Literal segments win over templated ones (/images/upload before /images/{id}).
        self._ops.sort(key=lambda o: o[0])

    def _registry(self, mode):
        if mode not in self._registries:
            doc = _convert(copy.deepcopy(self.doc), mode, self.doc)
            resource = referencing.Resource.from_contents(doc, default_specification=referencing.jsonschema.DRAFT4)
            self._registries[mode] = referencing.Registry().with_resource(_ROOT + mode, resource)
        return self._registries[mode]

    def _fast(self, pointer, mode):
        """A compiled validator of the schema at ``pointer`` (None when it cannot be compiled).

        jsonschema walks the schema anew for every object: 90 ms for a page of 50 Hetzner servers, which
        made the simulators, not the clients, the cost of a long listing. fastjsonschema compiles the schema
        to Python once and accepts a valid answer some 15x faster. Formats are not checked, as jsonschema
        does not check them by default; anything it refuses goes to jsonschema, whose messages the reports
        and ``known_defects`` use, so a verdict is never fastjsonschema's alone.
        """
        key = (pointer, mode)
        with self._lock:
            if key not in self._compiled:
                root = dict(self._registry(mode).contents(_ROOT + mode), **{"$ref": "#" + pointer})
                try:
                    self._compiled[key] = fastjsonschema.compile(root, use_formats=False) if fastjsonschema else None
                except fastjsonschema.JsonSchemaDefinitionException:
                    self._compiled[key] = None
            return self._compiled[key]

    def _validate(self, value, pointer, mode):
        fast = self._fast(pointer, mode)
        if fast is not None:
            try:
                fast(value)
                return []
            except fastjsonschema.JsonSchemaValueException:
                pass  # jsonschema says what is wrong (or overrules a stricter reading)
        schema = {"$ref": _ROOT + mode + "#" + pointer}
        validator = jsonschema.Draft4Validator(schema, registry=self._registry(mode))
        return ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(body)", e.message)
                for e in validator.iter_errors(value)]

    def operation(self, method, path):
        """``(template, op, path_params, params)`` of ``method path``, or None."""
        if self.base_path and path.startswith(self.base_path):
            path = path[len(self.base_path):]
        for dummy, regex, names, op_method, template, op, params in self._ops:
            if op_method != method:
                continue
            m = regex.match(path)
            if m:
                return template, op, dict(zip(names, m.groups())), params
        return None

    def check_request(self, method, path, query, body, headers=None, unparsable=False):
        """Violations (a list of strings) of one request; ``query`` maps name -> [values].

        Every query parameter must be documented; documented query, path and header
        parameters are checked against their schemas (``headers``: a mapping with
        case-insensitive ``get``, e.g. ``http.client.HTTPMessage``; None skips the header checks).
        ``unparsable``: the body was sent but is not JSON (reported by the caller; no body check here).
        """
        found = self.operation(method, path)
        if found is None:
            return ["%s %s is not an operation of %s" % (method, path, self.path)]
        template, op, path_params, params = found
        errors = []
        documented = set()
        for param in params:
            if "$ref" in param:
                param = self._resolve(param["$ref"])
            where, name = param.get("in"), param["name"]
            if where == "query":
                documented.add(name)
                values = query.get(name)
            elif where == "path":
                values = [path_params[name]] if name in path_params else None
            elif where == "header" and headers is not None:
                value = headers.get(name)
                values = None if value is None else [value]
            else:
                continue
            if values is None:
                if param.get("required"):
                    errors.append("%s parameter %s is required" % (where, name))
                continue
            schema = param.get("schema", {})
            while isinstance(schema, dict) and "$ref" in schema:
                schema = self._resolve(schema["$ref"])
            if schema.get("type") == "array":  # ?type=a&type=b: each value is one item
                schema = schema.get("items", {})
            for raw in values:
                errors += ["%s %s=%r: %s" % (where, name, raw, e) for e in self._check_param(raw, schema)]
        errors += ["query parameter %s is not documented" % name for name in sorted(set(query) - documented)]
        content = (op.get("requestBody") or {}).get("content", {})
        if body is not None and "application/json" in content:
            pointer = _pointer("paths", template, method.lower(), "requestBody", "content", "application/json", "schema")
            errors += ["request %s" % e for e in self._validate(body, pointer, "request")]
        elif body is not None and content and "application/json" not in content:
            errors.append("JSON body sent to an operation that takes %s" % sorted(content))
        elif body is None and not unparsable and (op.get("requestBody") or {}).get("required"):
            errors.append("request body is required")
        return self._real(["%s %s: %s" % (method, template, e) for e in errors])

    def check_response(self, method, path, status, body, error_like=False):
        """Violations of one response to ``method path``.

        ``error_like``: an injected fault whose status the operation does not document (a 5xx where
        the document lists only 4xx answers); its body must then be the operation's documented error
        answer (its 4XX, or ``default``), so a client parses it as it would parse a real error.
        """
        found = self.operation(method, path)
        if found is None:
            return []  # already reported by check_request
        template, op, dummy, dummy2 = found
        responses = op.get("responses", {})
        ranges = dict((k.upper(), k) for k in responses)
        key = str(status) if str(status) in responses else ranges.get("%dXX" % (status // 100), "default")
        if key not in responses and error_like:
            key = next((ranges[k] for k in ("4XX", "5XX") if k in ranges), None) or next(
                (k for k in sorted(responses) if k.startswith("4")), "default")
        if key not in responses:
            return self._real(["%s %s: status %s is not documented (documented: %s)"
                               % (method, template, status, sorted(responses))])
        response = responses[key]
        if "$ref" in response:
            ref = response["$ref"]
            response = self._resolve(ref)
            pointer = ref[1:] + _pointer("content", "application/json", "schema")
        else:
            pointer = _pointer("paths", template, method.lower(), "responses", key, "content", "application/json", "schema")
        if body is None or "application/json" not in response.get("content", {}):
            return []
        return self._real(["%s %s -> %s: %s" % (method, template, status, e)
                           for e in self._validate(body, pointer, "response")])

    def _real(self, violations):
        return [v for v in violations if not any(rx.search(v) for rx, dummy in self.known_defects)]

    def _resolve(self, ref):
        return _deref(self.doc, ref)

    def _check_param(self, raw, schema):
        while isinstance(schema, dict) and "$ref" in schema:
            schema = self._resolve(schema["$ref"])
        kind = schema.get("type")
        members = schema.get("oneOf") or schema.get("anyOf") or []
        if kind == "object" or members and all(_inline(self.doc, m).get("type") == "object" for m in members):
            kind = "object"  # a JSON object in a header or query value (Linode's X-Filter)
        try:
            value = {"integer": int, "number": float, "object": json.loads}.get(kind, str)(raw)
        except ValueError:
            return ["not a valid %s" % ("JSON object" if kind == "object" else kind)]
        if kind == "boolean":
            return [] if raw in ("true", "false") else ["not a boolean"]
        schema = _convert(_inline(self.doc, schema), "request", self.doc)
        return [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(value)]


@functools.lru_cache(maxsize=None)
def load_spec(path, base_path="", known_defects=(), slash_params=()):
    """A cached ``OpenAPISpec`` (parsing the Linode document takes a second).

    ``known_defects`` is a tuple of ``(regex, why)`` pairs (hashable); ``slash_params`` names the path
    parameters whose values hold one ``/`` (a defect of the document: it cannot say so)."""
    return OpenAPISpec(path, base_path, known_defects, slash_params)
