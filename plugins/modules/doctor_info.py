# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: doctor_info
short_description: Check that the control node can run the collection against the chosen providers
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Checks what the other modules of the collection need, the way they look for it, and says how to fix each
    failure.
  - C(talosctl) is selected exactly as the Talos modules select it (O(talosctl_path); else, with O(talos_version),
    the talosctl of the home cluster's Talos line, C(talosctl-<major>.<minor>) or C(talosctl) when it is of that line;
    else C(talosctl); names are searched in C(PATH), then C($AUTOEXTENDER_TOOLS), default
    C(~/.cache/talos-autoextender/bin)); its version is checked and the report says which one it picked and why.
  - The Python libraries the chosen providers need are imported in the Python that runs the modules.
  - For each cloud provider in O(providers), its credential must be there (O(credentials) or the provider's
    environment variable) and its API must accept it for a read-only call (listing the servers of the collection).
  - For O(dns), the credential must be there and the zone must answer a read of the edge record set.
  - With O(kubeconfig), the home cluster's API server must answer with those credentials.
  - Never changes anything, and never fails because a check failed; the report says what failed
    (the C(talos.autoextender.doctor) role fails on it).
extends_documentation_fragment:
  - talos.autoextender.attributes.info_module
options:
  gather:
    description: Which checks to run.
    type: list
    elements: str
    choices: [talosctl, libraries, cloud, dns, kubernetes]
    default: [talosctl, libraries, cloud, dns, kubernetes]
  talosctl_path:
    description: The talosctl to check, as the Talos modules' option of the same name.
    type: path
  talos_version:
    description:
      - The home cluster's Talos version (V(v1.13.9), V(v1.14.1)), as the Talos modules' option of the same name.
      - The check fails, naming the talosctl to install, when no talosctl of that Talos line is found.
    type: str
    version_added: 0.2.0
  providers:
    description: Cloud providers to check (those of the pools).
    type: list
    elements: str
    choices: [hetzner, lab, linode]
    default: []
  credentials:
    description:
      - The credentials by provider name, shaped like the C(autoextender_credentials) variable; that is
        C(api_token) and C(api_url) of the cloud providers, C(api_token) of the DNS backends, C(tsig_key_name) and
        C(tsig_key_secret) of V(rfc2136).
      - A provider missing here uses its environment variable (C(HCLOUD_TOKEN), C(LINODE_TOKEN), C(LAB_CLOUD_CONFIG),
        C(PDNS_API_KEY), C(CLOUDFLARE_API_TOKEN), C(RFC2136_TSIG_SECRET), ...), as the modules do.
    type: dict
    default: {}
  dns:
    description:
      - The DNS settings, shaped like the C(autoextender_dns) variable (C(provider), C(zone), C(edge_name),
        C(options)); its credential comes from O(credentials).
    type: dict
  kubeconfig:
    description: The home cluster's kubeconfig.
    type: path
  timeout:
    description: Seconds each API check may take, retries included.
    type: int
    default: 10
seealso:
  - module: talos.autoextender.talos_info
  - module: talos.autoextender.edge_pool_info
  - module: talos.autoextender.dns_record_set_info
"""

EXAMPLES = r"""
- name: Check the control node for Hetzner pools and a Cloudflare zone
  talos.autoextender.doctor_info:
    providers: [hetzner]
    credentials: "{{ autoextender_credentials }}"  # hetzner.api_token, cloudflare.api_token
    dns:
      provider: cloudflare
      zone: example.com
    kubeconfig: ~/.kube/config
  register: doctor

- name: Fail with every fix
  ansible.builtin.assert:
    that: doctor.doctor.ok
    fail_msg: "{{ doctor.doctor.fixes }}"
"""

RETURN = r"""
doctor:
  description: Every check with what it found, and how to fix what failed.
  returned: success
  type: dict
  contains:
    ok:
      description: True when every check passed.
      type: bool
      sample: false
    checks:
      description:
        - One entry per check, with C(name), C(ok), C(detail) (what was found; when nothing answered,
          V(no answer from) the endpoint and the reason), C(fix) and C(kind) (the failure kind; both null
          when C(ok)) and C(endpoint) (the URL or server an API check asked, else null).
      type: list
      elements: dict
      sample:
        - {"name": "talosctl", "ok": true,
           "detail": "talosctl v1.13.9 at /root/.cache/talos-autoextender/bin/talosctl-v1.13.9: talosctl-1.13 is of the
             home cluster's Talos line (talos_version v1.13.9)", "fix": null, "kind": null, "endpoint": null}
        - {"name": "cloud provider hetzner", "ok": false,
           "detail": "no credential: autoextender_credentials.hetzner.api_token (or HCLOUD_TOKEN) is not set",
           "fix": "set autoextender_credentials.hetzner.api_token (or HCLOUD_TOKEN) to a Hetzner Cloud API token ...",
           "kind": "auth", "endpoint": null}
    failed:
      description: The names of the checks that failed.
      type: list
      elements: str
      sample: ["cloud provider hetzner"]
    problems:
      description: One line per failed check, its name and its detail.
      type: list
      elements: str
      sample: ["dns powerdns zone lab.test: no answer from http://127.0.0.1:8081 (connection refused)"]
    fixes:
      description: One line per failed check, its name and how to fix it.
      type: list
      elements: str
"""

import sys
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from ansible_collections.talos.autoextender.plugins.module_utils import _doctor
from ansible_collections.talos.autoextender.plugins.module_utils._credentials import module_options
from ansible_collections.talos.autoextender.plugins.module_utils._credentials import validate as validate_credentials
from ansible_collections.talos.autoextender.plugins.module_utils._dns.registry import names as dns_names
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError, redact
from ansible_collections.talos.autoextender.plugins.module_utils._providers.registry import names as cloud_names
from ansible_collections.talos.autoextender.plugins.module_utils._talosctl import module_runner
from ansible_collections.talos.autoextender.plugins.module_utils._validate import Range, ValidatedModule

GATHER = ("talosctl", "libraries", "cloud", "dns", "kubernetes")


def check_options(module):
    """Refuse what the argument spec cannot check: the shape of ``credentials`` and ``dns``."""
    params = module.params
    try:
        validate_credentials(params["credentials"])
    except AutoextenderError as e:
        module.fail_json(msg="credentials: " + e.msg, failure=e.failure())
    dns = params["dns"]
    if dns is not None:
        if dns.get("provider") not in dns_names():
            module.fail_json(msg="dns.provider is %r; it must be one of %s"
                             % (dns.get("provider"), ", ".join(dns_names())))
        if not isinstance(dns.get("zone"), str) or not dns["zone"].strip("."):
            module.fail_json(msg="dns.zone is %r; it must be a zone name such as example.com" % (dns.get("zone"),))
        if not isinstance(dns.get("options") or {}, dict):
            module.fail_json(msg="dns.options must be a dict, got %r" % type(dns["options"]).__name__)


def main():
    module = ValidatedModule(
        rules={"timeout": Range(1, 3600, "seconds")},
        argument_spec=dict(
            gather=dict(type="list", elements="str", choices=list(GATHER), default=list(GATHER)),
            talosctl_path=dict(type="path"),
            talos_version=dict(type="str"),
            providers=dict(type="list", elements="str", choices=cloud_names(), default=[]),
            credentials=dict(type="dict", default={}, no_log=True),
            dns=dict(type="dict"),
            kubeconfig=dict(type="path"),
            timeout=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    check_options(module)
    p = module.params
    gather = p["gather"]
    providers = list(dict.fromkeys(p["providers"]))
    dns = p["dns"]
    checks = []
    if "talosctl" in gather:
        checks.append(_doctor.check_talosctl(p["talosctl_path"], runner=module_runner(module),
                                             talos_version=p["talos_version"]))
    if "libraries" in gather:
        for module_name, pip_name in _doctor.libraries_for(providers, dns and dns["provider"]):
            checks.append(_doctor.check_library(module_name, pip_name, sys.executable))
    # The API checks run side by side: a dead endpoint costs one timeout, not one per check.
    api_checks = []
    if "cloud" in gather:
        api_checks += [partial(_doctor.check_cloud, provider, module_options(p["credentials"], "cloud", provider),
                               p["timeout"]) for provider in providers]
    if "dns" in gather and dns is not None:
        api_checks.append(partial(_doctor.check_dns, dns, module_options(p["credentials"], "dns", dns["provider"]),
                                  p["timeout"]))
    if "kubernetes" in gather and p["kubeconfig"]:
        api_checks.append(partial(_doctor.check_kubernetes, p["kubeconfig"], p["timeout"]))
    if api_checks:
        with ThreadPoolExecutor(max_workers=len(api_checks)) as pool:
            checks += list(pool.map(lambda check: check(), api_checks))
    secrets = [v for entry in p["credentials"].values() for k, v in (entry or {}).items() if k != "api_url"]
    module.exit_json(changed=False, doctor=redact(_doctor.summary(checks), secrets))


if __name__ == "__main__":
    main()
