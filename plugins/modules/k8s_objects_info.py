# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_objects_info
short_description: Read several kinds of Kubernetes objects in one task
version_added: 0.2.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Answers each query of O(queries) (one object by name, or every object of a kind matching a label selector)
    over one API connection, where C(kubernetes.core.k8s_info) needs one task, process and API discovery per kind.
  - A kind the API server does not serve (its CRD is not installed) and an object that does not exist give an
    empty list, as C(kubernetes.core.k8s_info) does.
extends_documentation_fragment:
  - talos.autoextender.k8s
options:
  queries:
    description: What to read, in order.
    type: list
    elements: dict
    required: true
    suboptions:
      api_version:
        description: The object's C(apiVersion), for example V(apps/v1).
        type: str
        required: true
      kind:
        description: The object's kind, for example V(DaemonSet).
        type: str
        required: true
      namespace:
        description: The namespace; every namespace when not set (namespaced kinds).
        type: str
      name:
        description: One object by name; every object matching O(queries[].label_selector) when not set.
        type: str
      label_selector:
        description: A label selector (V(app=web,tier), V(autoextender.io/pool)) when O(queries[].name) is not set.
        type: str
        default: ""
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Reads only; there is nothing to show.
seealso:
  - module: kubernetes.core.k8s_info
"""

EXAMPLES = r"""
- name: Read the ingress DaemonSet and the edge Nodes
  talos.autoextender.k8s_objects_info:
    queries:
      - {api_version: apps/v1, kind: DaemonSet, namespace: autoextender-edge, name: traefik-edge}
      - {api_version: v1, kind: Node, label_selector: autoextender.io/pool}
  register: read

- name: Use them
  ansible.builtin.debug:
    msg: "{{ read.resources[1] | map(attribute='metadata.name') | list }}"
"""

RETURN = r"""
resources:
  description: For each query, in order, the objects found (as the API server sent them).
  returned: always
  type: list
  elements: list
  sample: [[{apiVersion: apps/v1, kind: DaemonSet, metadata: {name: traefik-edge}}], []]
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _k8s_client as kc
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._k8s_objects import Objects
from ansible_collections.talos.autoextender.plugins.module_utils._validate import ValidatedModule


def answer(api, query):
    if query["name"]:
        found = api.get(query["api_version"], query["kind"], query["namespace"], query["name"])
        return [found] if found else []
    return api.list(query["api_version"], query["kind"], query["label_selector"], namespace=query["namespace"])


def main():
    module = ValidatedModule(
        argument_spec=kc.k8s_argument_spec(queries=dict(type="list", elements="dict", required=True, options=dict(
            api_version=dict(type="str", required=True),
            kind=dict(type="str", required=True),
            namespace=dict(type="str"),
            name=dict(type="str"),
            label_selector=dict(type="str", default=""),
        ))),
        supports_check_mode=True,
    )
    kc.require_kubernetes(module)
    try:
        api = Objects(kc.api_client(module.params["kubeconfig"], module.params["context"]), None)
        resources = [answer(api, query) for query in module.params["queries"]]
    except AutoextenderError as e:
        module.fail_json(msg=e.msg, failure=e.failure())
    module.exit_json(changed=False, resources=resources)


if __name__ == "__main__":
    main()
