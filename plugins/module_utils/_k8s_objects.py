# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Any object by ``apiVersion``/``kind``, over one connection: read, list by label, server-side apply, delete.

``kubernetes.core.k8s`` starts a new Python process, reloads the kubeconfig and
runs API discovery for every object it touches (about 0.7 s each). A module
that owns several objects of several kinds uses this instead: one ApiClient,
discovery of only the group/versions it needs (cached), and plain dicts in and
out. Failures are ``AutoextenderError`` through ``_k8s_client.call``.
"""

from __future__ import annotations

from ansible_collections.talos.autoextender.plugins.module_utils import _k8s_client as kc
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import NOT_FOUND
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline, wait_for

#: the Content-Type of a server-side apply (the body is JSON, which is YAML)
APPLY = "application/apply-patch+yaml"
#: fields the API server writes: left out when comparing an object before and after an apply
#: seconds a kind may take to be served after its CRD was created
SERVED_TIMEOUT = 30
SERVER_FIELDS = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp")


def comparable(obj):
    """``obj`` without the fields only the API server writes, so two reads of an unchanged object are equal."""
    if obj is None:
        return None
    meta = dict((k, v) for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_FIELDS)
    return dict(obj, metadata=meta)


def shape_problems(objects):
    """The objects that cannot be applied at all: no apiVersion, kind or name."""
    return ["object %d: needs apiVersion, kind and metadata.name" % index for index, obj in enumerate(objects)
            if not (obj.get("apiVersion") and obj.get("kind") and (obj.get("metadata") or {}).get("name"))]


def key(obj):
    """``Kind/namespace/name`` of an object."""
    meta = obj.get("metadata") or {}
    return "%s/%s/%s" % (obj.get("kind"), meta.get("namespace"), meta.get("name"))


class Objects:
    """Objects of any served kind, through one ApiClient."""

    def __init__(self, api_client, field_manager):
        self.api = api_client
        self.field_manager = field_manager
        self._served = {}

    def _request(self, what, method, path, query=None, body=None, content_type=None, not_found=kc.NOT_FOUND):
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type

        def send():
            request = self.api.param_serialize(method=method, resource_path=path, query_params=query or [],
                                               header_params=headers, body=body, auth_settings=["BearerToken"])
            answer = self.api.call_api(*request)
            answer.read()
            # Raises ApiException for anything but 2xx, like the generated API classes.
            return self.api.response_deserialize(answer, {"2XX": "object"}).data

        return kc.call(what, send, not_found=not_found)

    def resource(self, api_version, kind):
        """``(plural, namespaced)`` of ``kind``, or None when the API server does not serve it (no CRD yet)."""
        if api_version not in self._served:
            base = "/api/v1" if api_version == "v1" else "/apis/%s" % api_version
            found = self._request("discover %s" % api_version, "GET", base, not_found=None) or {}
            self._served[api_version] = dict(
                (r["kind"], (r["name"], r.get("namespaced", False)))
                for r in found.get("resources") or () if "/" not in r["name"])
        return self._served[api_version].get(kind)

    def forget(self, api_version):
        """Discover ``api_version`` again on next use (after a CRD of it was installed)."""
        self._served.pop(api_version, None)

    def path(self, api_version, kind, namespace=None, name=None):
        served = self.resource(api_version, kind)
        if served is None:
            raise AutoextenderError("The API server does not serve %s %s (is its CRD installed?)" % (api_version, kind),
                                    kind=NOT_FOUND, details={"api_version": api_version, "kind": kind})
        plural, namespaced = served
        parts = ["/api/v1" if api_version == "v1" else "/apis/%s" % api_version]
        if namespaced and namespace:
            parts += ["namespaces", namespace]
        parts.append(plural)
        if name:
            parts.append(name)
        return "/".join(parts)

    def get(self, api_version, kind, namespace, name):
        """The object, or None when it (or its kind) does not exist."""
        if self.resource(api_version, kind) is None:
            return None
        return self._request("read %s %s/%s" % (kind, namespace, name), "GET",
                             self.path(api_version, kind, namespace, name), not_found=None)

    def list(self, api_version, kind, selector, namespace=None):
        """Every object of ``kind`` (in ``namespace``, else all) matching the label ``selector``; [] when not served."""
        if self.resource(api_version, kind) is None:
            return []
        found = self._request("list %s" % kind, "GET", self.path(api_version, kind, namespace),
                              query=[("labelSelector", selector)] if selector else []) or {}
        return [dict(o, apiVersion=api_version, kind=kind) for o in found.get("items") or ()]

    def apply(self, obj, dry_run=False):
        """Server-side apply ``obj`` (forcing conflicts: the field manager owns what it sets); the object after."""
        meta = obj["metadata"]
        query = [("fieldManager", self.field_manager), ("force", "true")]
        if dry_run:
            query.append(("dryRun", "All"))
        return self._request("apply %s" % key(obj), "PATCH",
                             self.path(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"]),
                             query=query, body=obj, content_type=APPLY)

    def create(self, obj):
        """Create ``obj``; raises AutoextenderError (status 409 in ``details``) when it exists."""
        meta = obj["metadata"]
        return self._request("create %s" % key(obj), "POST",
                             self.path(obj["apiVersion"], obj["kind"], meta.get("namespace")), body=obj)

    def replace(self, obj):
        """Replace ``obj`` as read (its ``metadata.resourceVersion`` makes a concurrent change a 409)."""
        meta = obj["metadata"]
        return self._request("replace %s" % key(obj), "PUT",
                             self.path(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"]), body=obj)

    def delete(self, api_version, kind, namespace, name, dry_run=False, resource_version=None):
        """Delete the object (its dependents in the background); False when it was already gone.

        With ``resource_version``, only that version of it (a 409 when it changed since it was read).
        """
        query = [("propagationPolicy", "Background")] + ([("dryRun", "All")] if dry_run else [])
        body = {"preconditions": {"resourceVersion": resource_version}} if resource_version else None
        gone = object()
        done = self._request("delete %s %s/%s" % (kind, namespace, name), "DELETE",
                             self.path(api_version, kind, namespace, name), query=query, body=body, not_found=gone)
        return done is not gone

    def wait_served(self, api_version, kind, timeout=SERVED_TIMEOUT):
        """Until ``kind`` is served: a CRD applied a moment ago is served once it is established."""
        if self.resource(api_version, kind) is None:
            def served():
                self.forget(api_version)
                return self.resource(api_version, kind) is not None, None
            wait_for(served, Deadline(timeout), "%s %s to be served (is its CRD installed?)" % (api_version, kind))

    def namespace_exists(self, name):
        return self.get("v1", "Namespace", None, name) is not None

    def converge(self, objects, dry_run=False):
        """Server-side apply each object in order; ``[(key, before, after, predicted)]`` of those that changed.

        In a dry run, an object the API server cannot dry-run yet (its kind's CRD or its namespace is only
        created by this list) is predicted as created, as asked (``predicted`` True).
        """
        changed = []
        for obj in objects:
            meta = obj["metadata"]
            namespace = meta.get("namespace")
            before = self.get(obj["apiVersion"], obj["kind"], namespace, meta["name"])
            predicted = dry_run and (self.resource(obj["apiVersion"], obj["kind"]) is None
                                     or (namespace and before is None and not self.namespace_exists(namespace)))
            if not predicted:
                self.wait_served(obj["apiVersion"], obj["kind"])
            after = obj if predicted else self.apply(obj, dry_run=dry_run)
            if comparable(before) != comparable(after):
                changed.append((key(obj), comparable(before), comparable(after), bool(predicted)))
        return changed
