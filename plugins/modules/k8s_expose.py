# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_expose
short_description: Publish home Services through the edge ingress, as one set of objects the collection owns
version_added: 0.2.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Checks every entry of O(services) first and fails with all problems at once, before anything changes, for
    the required keys, a host inside O(zone), no duplicate host, edge ports outside O(reserved_ports) and unique, the
    Service and its port exist, the CRDs the entries need are served, and no object of a name the entries would
    own exists without the label C(app.kubernetes.io/managed-by=talos-autoextender) (such an object is never
    taken over).
  - Then installs O(crds) (when given) and waits until their kinds are served, server-side applies every
    object of O(objects), and deletes the objects carrying the collection's labels
    (C(app.kubernetes.io/managed-by=talos-autoextender) and C(autoextender.io/expose)) that no object of
    O(objects) is any more, including the TLS Secret of a removed Certificate. Nothing else is ever deleted.
  - One connection for every read and write, where a task per object (C(kubernetes.core.k8s)) costs a process
    start and an API discovery each. Used by the C(expose) role, which renders O(objects) from the entries.
  - In check mode every apply and delete is a server-side dry run; objects of a kind whose CRD O(crds)
    would install are predicted as created.
extends_documentation_fragment:
  - talos.autoextender.k8s
options:
  services:
    description:
      - The services to publish (C(autoextender_expose)), each C(host), C(namespace), C(service), C(port),
        C(protocol) (V(http), V(tcp), V(udp)), C(tls) and C(edge_port). Defaults are filled in as the
        C(talos.autoextender.expose_entries) filter does.
    type: list
    elements: dict
    required: true
  objects:
    description:
      - The objects of every entry (rendered by the C(expose) role), each carrying the collection's two labels.
      - An object without them is refused, since it could never be removed again.
    type: list
    elements: dict
    required: true
  zone:
    description: The DNS zone every host must be inside, without the trailing dot.
    type: str
    required: true
  edge_hostname:
    description: The edge record set every name points at; no entry may take it.
    type: str
    required: true
  reserved_ports:
    description: Edge ports a tcp/udp entry may not take (the ingress, the Talos API, KubeSpan, ...).
    type: list
    elements: int
    default: [80, 443, 50000, 50001, 51820, 8082]
  crds:
    description:
      - CustomResourceDefinitions to server-side apply after the checks and before the objects (the ExternalDNS
        DNSEndpoint CRD for tcp/udp entries); the task waits until their kinds are served.
    type: list
    elements: dict
    default: []
  field_manager:
    description: The server-side apply field manager; it owns every field it sets (conflicts are forced).
    type: str
    default: talos-autoextender
  wait_timeout:
    description: Seconds to wait for the kinds of O(crds) to be served.
    type: int
    default: 60
attributes:
  check_mode:
    support: full
    description:
      - The checks run as usual; every apply and delete is a server-side dry run.
  diff_mode:
    support: full
    description:
      - Shows each changed object before and after, without the fields only the API server writes; a removed
        object by its name only (a Secret's data never shows).
notes:
  - The labels select the objects of one C(autoextender_expose) list per cluster; two lists applied to one cluster
    remove each other's objects.
seealso:
  - module: kubernetes.core.k8s
"""

EXAMPLES = r"""
- name: Publish the services of autoextender_expose
  talos.autoextender.k8s_expose:
    kubeconfig: ~/.kube/home.yaml
    services: "{{ autoextender_expose }}"
    objects: "{{ lookup('ansible.builtin.template', 'objects.yaml.j2') | ansible.builtin.from_yaml_all | select | list }}"
    zone: example.com
    edge_hostname: edge.example.com
  register: exposed
"""

RETURN = r"""
k8s_expose:
  description: What is published (in check mode, would be).
  returned: always
  type: dict
  contains:
    published:
      description: The hosts of the entries.
      type: list
      elements: str
      sample: [app.example.com]
    objects:
      description: C(Kind/namespace/name) of every object the entries own, with the TLS Secret of each Certificate.
      type: list
      elements: str
      sample: [Ingress/web/edge-app-example-com, Certificate/web/edge-app-example-com, Secret/web/edge-app-example-com-tls]
    applied:
      description: The objects (and CRDs) created or changed by this run.
      type: list
      elements: str
      sample: [Ingress/web/edge-app-example-com]
    removed:
      description: The objects of removed entries, deleted by this run.
      type: list
      elements: str
      sample: [IngressRouteTCP/games/edge-mc-example-com]
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _expose
from ansible_collections.talos.autoextender.plugins.module_utils import _k8s_client as kc
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._k8s_objects import Objects, key, shape_problems
from ansible_collections.talos.autoextender.plugins.module_utils._validate import PORT, ValidatedModule

#: the kinds an entry may need beyond the built-in Ingress, by API group/version
CRD_KINDS = {"IngressRouteTCP": "traefik.io/v1alpha1", "IngressRouteUDP": "traefik.io/v1alpha1",
             "Certificate": "cert-manager.io/v1", "DNSEndpoint": "externaldns.k8s.io/v1alpha1"}
#: every kind an entry can own, searched by label for objects of removed entries
OWNED_KINDS = [("networking.k8s.io/v1", "Ingress"), ("traefik.io/v1alpha1", "IngressRouteTCP"),
               ("traefik.io/v1alpha1", "IngressRouteUDP"), ("cert-manager.io/v1", "Certificate"),
               ("externaldns.k8s.io/v1alpha1", "DNSEndpoint"), ("v1", "Secret")]
SELECTOR = "%s=%s,autoextender.io/expose" % _expose.MANAGED_BY


def crd_kind(crd):
    """``(apiVersion, kind)`` a CRD serves (its storage version)."""
    spec = crd.get("spec") or {}
    versions = [v["name"] for v in spec.get("versions") or () if v.get("storage")] or ["v1"]
    return "%s/%s" % (spec.get("group"), versions[0]), (spec.get("names") or {}).get("kind")


class Expose:
    """The objects of every entry, as the API server holds them."""

    def __init__(self, module):
        self.params = module.params
        self.check_mode = module.check_mode
        self.objects = Objects(kc.api_client(self.params["kubeconfig"], self.params["context"]),
                               self.params["field_manager"])
        self.entries = _expose.entries(self.params["services"])
        self.desired = self.params["objects"]
        self.crds = self.params["crds"]

    def served(self):
        """Kind -> whether the API server serves it now, or will once ``crds`` are applied."""
        coming = set(crd_kind(crd) for crd in self.crds)
        return dict((kind, (gv, kind) in coming or self.objects.resource(gv, kind) is not None)
                    for kind, gv in CRD_KINDS.items())

    def check(self, served):
        """Fail with every problem of the entries and objects, before anything changes."""
        errors = shape_problems(self.desired) + [
            "%s is not labelled %s=%s and autoextender.io/expose, so it could never be removed"
            % ((key(o),) + _expose.MANAGED_BY) for o in self.desired if not _expose.ours(o)]
        named = [e for e in self.entries if e.get("namespace") and e.get("service")]
        services = [(e, self.objects.get("v1", "Service", e["namespace"], e["service"])) for e in named]
        taken = [(item, self.objects.get(item["api_version"], item["kind"], item["namespace"], item["name"]))
                 for item in _expose.planned(self.entries, served) if item["crd_present"]]
        errors += _expose.problems(self.entries, self.params["zone"], self.params["edge_hostname"],
                                   self.params["reserved_ports"], served, services=services, taken=taken)
        if errors:
            raise AutoextenderError("autoextender_expose has %d problem(s); nothing was applied: %s"
                                    % (len(errors), "; ".join(errors)), kind=VALIDATION, details={"problems": errors})

    def install_crds(self):
        """Apply ``crds`` and wait until their kinds are served; the CRDs created or changed."""
        applied = [change[0] for change in self.objects.converge(self.crds, dry_run=self.check_mode)]
        if not self.check_mode:
            for gv, kind in set(crd_kind(crd) for crd in self.crds):
                self.objects.wait_served(gv, kind, self.params["wait_timeout"])
        return applied

    def ensure(self):
        """``(changed, summary, diff)``: acts unless in check mode."""
        self.check(self.served())
        applied = self.install_crds()
        diff = {"before": {}, "after": {}}
        for name, was, now, dummy in self.objects.converge(self.desired, dry_run=self.check_mode):
            applied.append(name)
            diff["before"][name], diff["after"][name] = was or {}, now
        owned = _expose.owned_keys(self.desired)
        found = [o for api_version, kind in OWNED_KINDS for o in self.objects.list(api_version, kind, SELECTOR)]
        removed = []
        for item in _expose.stale(found, owned):
            if self.objects.delete(item["api_version"], item["kind"], item["namespace"], item["name"],
                                   dry_run=self.check_mode):
                removed.append(item["key"])
                # Only the name: a Secret's data never goes into the diff.
                diff["before"][item["key"]] = {"metadata": {"namespace": item["namespace"], "name": item["name"]}}
        summary = {"published": [e["host"] for e in self.entries], "objects": owned, "applied": applied,
                   "removed": removed}
        return bool(applied or removed), summary, diff


def main():
    module = ValidatedModule(
        rules={"reserved_ports": PORT},
        argument_spec=kc.k8s_argument_spec(
            services=dict(type="list", elements="dict", required=True),
            objects=dict(type="list", elements="dict", required=True),
            zone=dict(type="str", required=True),
            edge_hostname=dict(type="str", required=True),
            reserved_ports=dict(type="list", elements="int", default=[80, 443, 50000, 50001, 51820, 8082]),
            crds=dict(type="list", elements="dict", default=[]),
            field_manager=dict(type="str", default="talos-autoextender"),
            wait_timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    kc.require_kubernetes(module)
    try:
        changed, summary, diff = Expose(module).ensure()
    except AutoextenderError as e:
        module.fail_json(msg=e.msg, failure=e.failure())
    result = {"changed": changed, "k8s_expose": summary}
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
