# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""How the Kubernetes modules find the home cluster (see module_utils/_k8s_client.py)."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path of the kubeconfig. When not set, E(K8S_AUTH_KUBECONFIG), then E(KUBECONFIG) or C(~/.kube/config)
        are used, then the in-cluster service account.
    type: path
  context:
    description: The kubeconfig context to use (E(K8S_AUTH_CONTEXT)); the current context when not set.
    type: str
requirements:
  - kubernetes (Python library) >= 24.2.0
"""
