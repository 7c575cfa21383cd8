# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: credential_rotation
short_description: Switch the home cluster's copies of a cloud or DNS credential to a new one, after checking it works
version_added: 0.3.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Rotates the credentials given in O(new_credentials) (shaped like C(autoextender_credentials), only the entries
    to rotate) in three steps.
  - "1. Verify: each new credential must work before anything switches. A cloud provider's token must list the
    collection's servers; the DNS backend of O(dns) must answer a read of the zone; for V(rfc2136), the new TSIG key
    must sign an update of a throwaway TXT record C(_autoextender-rotation.<zone>), which is removed again (in check
    mode, a signed read of the zone's SOA). A credential that does not work fails the task; nothing is switched."
  - "2. Switch: every place of O(places) (Kubernetes objects in which the collection put a credential: the Secrets
    of the C(external_dns) and C(cert_manager) roles, the CronJob's C(autoextender-credentials) Secret, the
    ExternalDNS Deployment's C(--rfc2136-tsig-keyname) argument, ...) that holds another value gets the new one,
    with a replace at the version read. A Deployment named by the C(restart) of a switched place gets a new
    C(autoextender.io/credentials-rotated) annotation (a digest, never a value) on its pod template, so its pods
    restart with the new credential; with O(wait), the module waits for that rollout. A switched Secret also
    records the value it held as retired, in its C(autoextender.io/credentials-retired) annotation (a truncated
    SHA-256, never the value): the C(external_dns) and C(cert_manager) roles then refuse to write that value back
    (filter C(talos.autoextender.credentials_retired)), so a run with an inventory not yet updated cannot undo
    the rotation."
  - "3. Prove: the places are read again; RV(rotation) says, per provider, which places switched and which still
    hold the old credential (O(credentials), compared in constant time, never shown). When none does, the old
    credential may be revoked at the provider."
  - An object that does not exist (ExternalDNS not deployed, no CronJob) is reported as C(absent), not an error.
  - No value of a credential is ever returned or put in an error.
extends_documentation_fragment:
  - talos.autoextender.k8s
options:
  new_credentials:
    description:
      - The new credentials, the entries to rotate only; shaped and checked like C(autoextender_credentials)
        (errors name the key, never the value). An entry is merged over the same entry of O(credentials), so a
        new token keeps its provider's C(api_url).
    type: dict
    required: true
  credentials:
    description:
      - The credentials in use until now (C(autoextender_credentials)). A place is said to hold the old credential
        when it holds this value; when the old value is not given, any value but the new one counts as old.
    type: dict
    default: {}
  dns:
    description:
      - The DNS settings, shaped like C(autoextender_dns) (C(provider), C(zone), C(options)); a new credential of
        its provider is verified against its zone.
    type: dict
  places:
    description: Where the credentials are in the home cluster.
    type: list
    elements: dict
    default: []
    suboptions:
      api_version:
        description: The object's API version.
        type: str
        default: v1
      kind:
        description: The object's kind (V(Secret), V(Deployment), V(ClusterIssuer), ...).
        type: str
        required: true
      namespace:
        description: Its namespace (none for a cluster-wide object).
        type: str
      name:
        description: Its name.
        type: str
        required: true
      path:
        description: The dotted path of the value in the object (V(data.pdns-api-key)); list items by index.
        type: str
        required: true
      prefix:
        description:
          - The path names a list of strings (container arguments) and the place is its item starting with this
            (V(--rfc2136-tsig-keyname=)).
        type: str
      encoding:
        description: How the value is stored; V(base64) by default for a V(Secret), else V(plain).
        type: str
        choices: [base64, plain]
      provider:
        description: The entry of O(new_credentials) the value comes from.
        type: str
        required: true
      field:
        description: Its key (V(api_token), V(tsig_key_secret), V(tsig_key_name)).
        type: str
        required: true
      restart:
        description: A Deployment (V(namespace/name)) whose pods read this place; rolled when it switched.
        type: str
  verify:
    description: Verify each new credential first (step 1). V(false) only when the provider cannot be reached.
    type: bool
    default: true
  wait:
    description: Wait until the restarted Deployments have rolled out.
    type: bool
    default: true
  wait_timeout:
    description: Seconds for the API calls and the wait, together.
    type: int
    default: 180
attributes:
  check_mode:
    support: full
    description:
      - Verifies with read-only calls (a signed read for V(rfc2136)), reads every place and returns the plan (the
        places that would switch, the Deployments that would restart) and the same C(changed) as a real run; writes
        nothing.
  diff_mode:
    support: none
    description: The values are secrets; RV(places) says what switches.
  idempotent:
    support: full
    description: A second run finds every place holding the new credential and changes nothing.
notes:
  - After the run, put the new values into C(autoextender_credentials) (and a new TSIG key name into
    C(autoextender_dns.options.tsig_key_name)), so the roles that write these places write the new ones again.
seealso:
  - name: Rotating credentials
    description: docs/security.md in the collection.
    link: https://github.com/talos-autoextender/talos-autoextender/blob/main/docs/security.md
"""

EXAMPLES = r"""
- name: Rotate the PowerDNS API key
  talos.autoextender.credential_rotation:
    credentials: "{{ autoextender_credentials }}"
    new_credentials:
      powerdns: {api_token: "{{ vault_pdns_api_key_2 }}"}
    dns: "{{ autoextender_dns }}"
    places:
      - {kind: Secret, namespace: external-dns, name: external-dns-credentials, path: data.pdns-api-key,
         provider: powerdns, field: api_token, restart: external-dns/external-dns}
  register: rotated
"""

RETURN = r"""
rotation:
  description: Per rotated provider, what was verified, where it switched and whether the old credential is unused.
  returned: always
  type: list
  elements: dict
  contains:
    provider:
      description: The entry of O(new_credentials).
      type: str
    verified:
      description: What proved the new credential works.
      type: str
    switched:
      description: The places that got the new credential (in check mode, that would get it).
      type: list
      elements: str
    current:
      description: The places that held it already.
      type: list
      elements: str
    absent:
      description: The places not found in the cluster.
      type: list
      elements: str
    old_in_use:
      description: The places still holding the old credential after the switch; empty when done.
      type: list
      elements: str
    revoke:
      description: What to do with the old credential, when no place holds it any more.
      type: str
  sample:
    - provider: powerdns
      verified: "dns: the zone answers (edge set: 192.0.2.10)"
      switched: ["Secret external-dns/external-dns-credentials data.pdns-api-key"]
      current: []
      absent: ["Secret autoextender/autoextender-credentials data.PDNS_API_KEY"]
      old_in_use: []
      revoke: the old powerdns credential is held by no place of the collection any more ...
places:
  description: Every place of a rotated provider, with its state before the switch (C(switch), C(current), C(absent)).
  returned: always
  type: list
  elements: dict
restarted:
  description: The Deployments (V(namespace/name)) restarted (in check mode, that would restart).
  returned: always
  type: list
  elements: str
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _credential_rotation as rot
from ansible_collections.talos.autoextender.plugins.module_utils import _k8s_client as kc
from ansible_collections.talos.autoextender.plugins.module_utils._credentials import validate
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._k8s_objects import Objects
from ansible_collections.talos.autoextender.plugins.module_utils._validate import ValidatedModule
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline, wait_for

FIELD_MANAGER = "talos-autoextender-rotation"


def read_all(api, places):
    return dict((rot.object_key(p), api.get(*rot.object_key(p))) for p in places)


def replace(api, key, change, attempts=5):
    """Replace the object ``key`` with ``change(key, object as read)`` (None: nothing to change); a conflict (a
    controller wrote its status meanwhile) reads it again. True when it was replaced."""
    for attempt in range(attempts):
        obj = api.get(*key)
        updated = change(key, obj) if obj else None
        if updated is None:
            return False
        try:
            api.replace(updated)
            return True
        except AutoextenderError as e:
            if e.details.get("status") != 409 or attempt == attempts - 1:
                raise
    return False


def rotate(module):
    p = module.params
    new = rot.validate_new(p["new_credentials"])
    old = validate(p["credentials"])
    after_new = rot.merged(old, new)
    places = [rot.normalise_place(place) for place in p["places"]]
    deadline = Deadline(p["wait_timeout"])
    verified = {}
    if p["verify"]:
        for name in sorted(after_new):
            verified[name] = rot.verify(name, after_new, p["dns"], module.check_mode,
                                        timeout=max(5, int(deadline.remaining())))
    api = Objects(kc.api_client(p["kubeconfig"], p["context"]), FIELD_MANAGER) if places else None
    objects = read_all(api, places) if places else {}
    before = rot.plan(places, objects, old, after_new)
    switched = rot.switched_objects(places, objects, after_new)
    to_restart = rot.restarts(places, before)
    restarted = []
    if module.check_mode:
        predicted = dict(objects)
        predicted.update(switched)
        after = rot.plan(places, predicted, old, after_new)
        return bool(switched), before, after, verified, to_restart, rot.unchanged(old, new)
    restart_values = {}
    for ref in to_restart:
        namespace, name = ref.split("/", 1)
        providers = set(row["provider"] for row in before if row["restart"] == ref)
        restart_values[("apps/v1", "Deployment", namespace, name)] = rot.digest(after_new, providers)

    def change(key, obj):
        """``obj`` (read just now) with its places switched and, for a Deployment to restart, the annotation."""
        out = rot.switched_objects(places, {key: obj}, after_new).get(key, obj)
        if key in restart_values:
            out = rot.with_restart(out, restart_values[key]) or out
        return out if out is not obj else None

    rolled = []
    for key in list(switched) + [k for k in restart_values if k not in switched]:
        if replace(api, key, change):
            if key in restart_values:
                restarted.append("%s/%s" % key[2:])
            if key[1] == "Deployment":
                rolled.append(key)
    if p["wait"]:
        for key in rolled:
            wait_for(lambda key=key: (rot.rolled_out(api.get(*key)), "/".join(key[2:])), deadline,
                     "the rollout of Deployment %s/%s" % key[2:])
    after = rot.plan(places, read_all(api, places) if places else {}, old, after_new)
    return bool(switched) or bool(restarted), before, after, verified, restarted, rot.unchanged(old, new)


def main():
    module = ValidatedModule(
        argument_spec=kc.k8s_argument_spec(
            new_credentials=dict(type="dict", required=True, no_log=True),
            credentials=dict(type="dict", default={}, no_log=True),
            dns=dict(type="dict"),
            places=dict(type="list", elements="dict", default=[], options=dict(
                api_version=dict(type="str", default="v1"),
                kind=dict(type="str", required=True),
                namespace=dict(type="str"),
                name=dict(type="str", required=True),
                path=dict(type="str", required=True),
                prefix=dict(type="str"),
                encoding=dict(type="str", choices=["base64", "plain"]),
                provider=dict(type="str", required=True),
                field=dict(type="str", required=True),
                restart=dict(type="str"),
            )),
            verify=dict(type="bool", default=True),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=180),
        ),
        supports_check_mode=True,
    )
    kc.require_kubernetes(module)
    secrets = rot.secret_values(module.params["new_credentials"] or {}, module.params["credentials"] or {})
    try:
        changed, before, after, verified, restarted, in_use = rotate(module)
    except AutoextenderError as e:
        e = e.redacted(secrets)
        module.fail_json(msg=e.msg, failure=e.failure())
    module.exit_json(changed=changed, rotation=rot.summary(before, after, verified, in_use), places=before,
                     restarted=restarted)


if __name__ == "__main__":
    main()
