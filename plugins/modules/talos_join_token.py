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
  - Changes no node. The nodes take the token with M(talos.autoextender.talos_apply_config) (a patch of
    C(/machine/token)); the role C(talos.autoextender.credential_rotation) does both in the safe order
    (docs/security.md, "The worker join token").
  - Never returns or prints a token; results name tokens by a fingerprint (the first 12 hex digits of its SHA-256).
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
attributes:
  check_mode:
    support: full
    description: Reads and checks every file and reports which would change; writes nothing.
  diff_mode:
    support: full
    description: The token's field in each file, with the old and new fingerprints (never the tokens).
  idempotent:
    support: full
    description: A file that holds O(token) already is not written.
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
"""

from ansible_collections.talos.autoextender.plugins.module_utils import _join_token as jt
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


def main():
    module = ValidatedModule(
        argument_spec=dict(
            token=dict(type="str", required=True, no_log=True),
            files=dict(type="list", elements="path", required=True),
        ),
        supports_check_mode=True,
    )
    token = module.params["token"]
    secrets = [token]
    try:
        jt.check_token(token)
        steps = plan(module.params["files"], token)
        secrets += [old for dummy, dummy, old, dummy in steps]
        if not module.check_mode:
            for path, dummy, dummy, new_text in steps:
                if new_text is not None:
                    write_private_file(path, new_text.encode("utf-8"))
    except AutoextenderError as e:
        e = e.redacted(secrets)
        module.fail_json(msg=e.msg, failure=e.failure())
    new = jt.fingerprint(token)
    files = [{"path": path, "kind": kind, "changed": text is not None, "old": jt.fingerprint(old)}
             for path, kind, old, text in steps]
    diff = [{"before_header": f["path"], "after_header": f["path"],
             "before": "%s: %s\n" % (FIELD[f["kind"]], f["old"]), "after": "%s: %s\n" % (FIELD[f["kind"]], new)}
            for f in files if f["changed"]]
    module.exit_json(changed=any(f["changed"] for f in files), diff=diff,
                     talos_join_token={"token": new, "files": files})


if __name__ == "__main__":
    main()
