# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: talos_join_token
short_description: Set the worker join token in the secrets bundle and controlplane configs that hold it
version_added: 0.3.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Writes a new worker join token (C(machine.token), the token trustd on the control planes accepts from a worker
    that asks for its certificates) into each file of O(files) - a secrets bundle (C(trustdinfo.token)) or a
    controlplane machine config (C(machine.token) of its v1alpha1 document) - so the join configs rendered from
    them afterwards carry it.
  - The token is replaced on its own line, so comments, key order and the other documents of the file stay as they
    are, and the file is parsed again and compared with the original everywhere else before it is written
    (atomically, mode C(0600)).
  - O(secrets) names Kubernetes Secrets that hold a copy of the bundle (the failover CronJob's C(autoextender-talos));
    their key is updated the same way, through a patch of that key only. A Secret or key that does not exist is
    reported as absent, not an error.
  - Changes no node. The nodes take the token with M(talos.autoextender.talos_apply_config) (a patch of
    C(/machine/token)); the role C(talos.autoextender.credential_rotation) does both in the safe order
    (docs/security.md, "The worker join token").
  - Never returns or prints a token; results name tokens by a fingerprint (the first 12 hex digits of its SHA-256).
extends_documentation_fragment:
  - talos.autoextender.k8s
options:
  token:
    description:
      - The new join token, shaped like the ones C(talosctl gen secrets) makes (6 and 16 characters of C(a-z0-9)
        joined by a dot).
    type: str
    required: true
  files:
    description:
      - The secrets bundles and controlplane machine configs to update; the kind of each is recognised from its
        content. A file that holds the token already is left as it is.
    type: list
    elements: path
    required: true
  secrets:
    description: Kubernetes Secrets whose key holds a copy of the secrets bundle. Uses O(kubeconfig) and O(context).
    type: list
    elements: dict
    default: []
    suboptions:
      namespace:
        description: The Secret's namespace.
        type: str
        required: true
      name:
        description: The Secret's name.
        type: str
        required: true
      key:
        description: The key that holds the bundle.
        type: str
        default: secrets.yaml
attributes:
  check_mode:
    support: full
    description: Reads and checks every file and reports which would change; writes nothing.
  diff_mode:
    support: full
    description: The token's field in each file, with the old and new fingerprints (never the tokens).
  idempotent:
    support: full
    description: A file or Secret that holds O(token) already is not written.
seealso:
  - module: talos.autoextender.talos_apply_config
  - module: talos.autoextender.talos_secrets
"""

EXAMPLES = r"""
- name: Put the new join token into the bundle the join configs are rendered from
  talos.autoextender.talos_join_token:
    token: "{{ new_join_token }}"
    files:
      - /secure/home-cluster/secrets.yaml
      - "{{ playbook_dir }}/private/work/secrets.yaml"
"""

RETURN = r"""
talos_join_token:
  description: The new token's fingerprint and what happened to each file.
  returned: success
  type: dict
  contains:
    token:
      description: Fingerprint of O(token).
      returned: success
      type: str
      sample: sha256:4f0c3b1d9a2e
    files:
      description: One entry per file of O(files), in order.
      returned: success
      type: list
      elements: dict
      sample: [{"path": "/secure/home-cluster/secrets.yaml", "kind": "secrets_bundle", "changed": true,
                "old": "sha256:9be01f3c44aa"}]
    secrets:
      description: One entry per Secret of O(secrets); C(present) is false for a Secret or key that does not exist.
      returned: success
      type: list
      elements: dict
      sample: [{"namespace": "autoextender", "name": "autoextender-talos", "key": "secrets.yaml", "present": true,
                "changed": true, "old": "sha256:9be01f3c44aa"}]
"""

import base64

from ansible_collections.talos.autoextender.plugins.module_utils import _join_token as jt
from ansible_collections.talos.autoextender.plugins.module_utils import _k8s_client as kc
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._talos_secrets import read_file, write_private_file
from ansible_collections.talos.autoextender.plugins.module_utils._validate import ValidatedModule

FIELD = {jt.BUNDLE: "trustdinfo.token", jt.CONTROLPLANE_CONFIG: "machine.token"}


def plan(paths, token):
    """``[(path, kind, old token, new text)]``: every file read and checked before any is written."""
    out = []
    for path in paths:
        try:
            text = read_file(path, "file").decode("utf-8")
        except UnicodeDecodeError:
            raise AutoextenderError("%s is not a UTF-8 text file" % path, kind=VALIDATION, details={"path": path})
        kind, old, new_text = jt.replace(text, path, token)
        out.append((path, kind, old, new_text if old != token else None))
    return out


def plan_secrets(core, places, token):
    """``[(place, kind, old token, new text)]`` of the Secrets that exist; ``kind`` None for an absent one."""
    out = []
    for place in places:
        what = "read Secret %s/%s" % (place["namespace"], place["name"])
        secret = kc.call(what, core.read_namespaced_secret, place["name"], place["namespace"])
        data = ((secret.data or {}) if secret is not None else {}).get(place["key"])
        if data is None:
            out.append((place, None, None, None))
            continue
        label = "Secret %s/%s key %s" % (place["namespace"], place["name"], place["key"])
        try:
            text = base64.b64decode(data).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise AutoextenderError("%s is not a UTF-8 text file" % label, kind=VALIDATION)
        kind, old, new_text = jt.replace(text, label, token)
        out.append((place, kind, old, new_text if old != token else None))
    return out


def write_secret(core, place, text):
    body = {"data": {place["key"]: base64.b64encode(text.encode("utf-8")).decode("ascii")}}
    kc.call("patch Secret %s/%s" % (place["namespace"], place["name"]), core.patch_namespaced_secret,
            place["name"], place["namespace"], body)


def main():
    module = ValidatedModule(
        argument_spec=kc.k8s_argument_spec(
            token=dict(type="str", required=True, no_log=True),
            files=dict(type="list", elements="path", required=True),
            secrets=dict(type="list", elements="dict", default=[], no_log=False, options=dict(
                namespace=dict(type="str", required=True),
                name=dict(type="str", required=True),
                key=dict(type="str", default="secrets.yaml", no_log=False),
            )),
        ),
        supports_check_mode=True,
    )
    p = module.params
    token = p["token"]
    secrets = [token]
    if p["secrets"]:
        kc.require_kubernetes(module)
    try:
        jt.check_token(token)
        steps = plan(p["files"], token)
        core = kc.core_api(module) if p["secrets"] else None
        secret_steps = plan_secrets(core, p["secrets"], token) if core else []
        secrets += [old for dummy, dummy, old, dummy in steps + secret_steps if old]
        if not module.check_mode:
            for path, dummy, dummy, new_text in steps:
                if new_text is not None:
                    write_private_file(path, new_text.encode("utf-8"))
            for place, dummy, dummy, new_text in secret_steps:
                if new_text is not None:
                    write_secret(core, place, new_text)
    except AutoextenderError as e:
        e = e.redacted(secrets)
        module.fail_json(msg=e.msg, failure=e.failure())
    new = jt.fingerprint(token)
    files = [{"path": path, "kind": kind, "changed": text is not None, "old": jt.fingerprint(old)}
             for path, kind, old, text in steps]
    in_secrets = [dict(place, present=kind is not None, changed=text is not None,
                       old=jt.fingerprint(old) if old else None) for place, kind, old, text in secret_steps]
    diff = [{"before_header": f["path"], "after_header": f["path"],
             "before": "%s: %s\n" % (FIELD[f["kind"]], f["old"]), "after": "%s: %s\n" % (FIELD[f["kind"]], new)}
            for f in files if f["changed"]]
    diff += [{"before_header": "Secret %s/%s" % (s["namespace"], s["name"]), "after_header": "Secret %s/%s" % (
        s["namespace"], s["name"]), "before": "%s: %s\n" % (s["key"], s["old"]), "after": "%s: %s\n" % (s["key"], new)}
        for s in in_secrets if s["changed"]]
    module.exit_json(changed=any(f["changed"] for f in files + in_secrets), diff=diff,
                     talos_join_token={"token": new, "files": files, "secrets": in_secrets})


if __name__ == "__main__":
    main()
