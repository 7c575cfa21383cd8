# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_apply
short_description: Server-side apply a list of Kubernetes objects over one connection
version_added: 0.2.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Server-side applies every object of O(objects) in order, with the field manager O(field_manager), which owns
    every field it sets (conflicts are forced). Reports which objects changed, by comparing each object before
    and after without the fields only the API server writes.
  - The roles apply their rendered manifests with it. C(kubernetes.core.k8s) looped over the same objects starts
    a process, loads the kubeconfig and runs API discovery for each; this module does it once per task.
  - In check mode every apply is a server-side dry run. An object the API server cannot dry-run yet, because its
    namespace or its kind's CRD is created by this same list, is reported in RV(k8s_apply.predicted) as created.
  - It never deletes. Objects of a kind the API server does not serve fail the task (outside check mode).
extends_documentation_fragment:
  - talos.autoextender.k8s
options:
  objects:
    description: The objects, each with C(apiVersion), C(kind) and C(metadata.name) (and C(metadata.namespace) when namespaced).
    type: list
    elements: dict
    required: true
  field_manager:
    description: The server-side apply field manager.
    type: str
    default: talos-autoextender
attributes:
  check_mode:
    support: full
    description:
      - Every apply is a server-side dry run; objects that cannot be dry-run yet are listed in RV(k8s_apply.predicted).
  diff_mode:
    support: full
    description: Shows each changed object before and after, without the fields only the API server writes.
seealso:
  - module: kubernetes.core.k8s
  - module: talos.autoextender.k8s_expose
"""

EXAMPLES = r"""
- name: Apply the ingress objects
  talos.autoextender.k8s_apply:
    kubeconfig: ~/.kube/home.yaml
    objects: >-
      {{ query('ansible.builtin.template', 'namespace.yaml.j2', 'daemonset.yaml.j2')
         | map('ansible.builtin.from_yaml_all') | map('list') | flatten(levels=1) | select | list }}
"""

RETURN = r"""
k8s_apply:
  description: What the apply changed (in check mode, would change).
  returned: always
  type: dict
  contains:
    applied:
      description: C(Kind/namespace/name) of the objects created or changed (C(None) as the namespace of cluster-wide ones).
      type: list
      elements: str
      sample: [DaemonSet/autoextender-edge/traefik-edge]
    predicted:
      description: In check mode, the objects predicted as created because their namespace or CRD does not exist yet.
      type: list
      elements: str
      sample: [ServiceAccount/autoextender-edge/traefik-edge]
    objects:
      description: C(Kind/namespace/name) of every object of O(objects), in order.
      type: list
      elements: str
      sample: [Namespace/None/autoextender-edge, DaemonSet/autoextender-edge/traefik-edge]
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _k8s_client as kc
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._k8s_objects import Objects, key, shape_problems
from ansible_collections.talos.autoextender.plugins.module_utils._validate import ValidatedModule


def main():
    module = ValidatedModule(
        argument_spec=kc.k8s_argument_spec(
            objects=dict(type="list", elements="dict", required=True),
            field_manager=dict(type="str", default="talos-autoextender"),
        ),
        supports_check_mode=True,
    )
    kc.require_kubernetes(module)
    objects = module.params["objects"]
    try:
        problems = shape_problems(objects)
        if problems:
            raise AutoextenderError("Nothing was applied: %s" % "; ".join(problems), kind=VALIDATION,
                                    details={"problems": problems})
        api = Objects(kc.api_client(module.params["kubeconfig"], module.params["context"]),
                      module.params["field_manager"])
        changed = api.converge(objects, dry_run=module.check_mode)
    except AutoextenderError as e:
        module.fail_json(msg=e.msg, failure=e.failure())
    result = {"changed": bool(changed), "k8s_apply": {
        "applied": [c[0] for c in changed], "predicted": [c[0] for c in changed if c[3]],
        "objects": [key(o) for o in objects]}}
    if module._diff:
        result["diff"] = {"before": dict((c[0], c[1] or {}) for c in changed),
                          "after": dict((c[0], c[2]) for c in changed)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
