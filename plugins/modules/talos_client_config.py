# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: talos_client_config
short_description: Re-issue the client certificate of the talosconfig the automation uses, from the cluster's CA
version_added: 0.3.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Issues a new C(os:admin) client certificate from the cluster's OS CA in the secrets bundle
    (C(talosctl gen config --with-secrets <bundle> --output-types talosconfig)), puts it into the context of the
    talosconfig O(talosconfig) (its endpoints, nodes and name stay), checks that the Talos API accepts it
    (C(talosctl version) against the context's nodes), and only then writes the file, atomically with mode 0600.
  - The old certificate is not revoked (Talos has no revocation); it stays valid until it expires, which
    RV(talos_client_config.old) says (C(expires)). Delete every other copy of the old talosconfig.
  - The certificate is re-issued when the one in use is older than O(max_age) hours, so a second run the same day
    changes nothing. The home control plane's own secrets are never touched.
extends_documentation_fragment:
  - talos.autoextender.talosctl
options:
  secrets_bundle:
    description: The cluster's secrets bundle (its OS CA signs the new certificate); it must be the CA of the talosconfig.
    type: path
    required: true
  max_age:
    description: Hours after which the certificate in use is re-issued; V(0) re-issues on every run.
    type: int
    default: 24
attributes:
  check_mode:
    support: full
    description: Reads the talosconfig and says whether the certificate would be re-issued; issues and writes nothing.
  diff_mode:
    support: none
    description: The file holds a private key; RV(talos_client_config) says what changed.
  idempotent:
    support: full
    description: A certificate younger than O(max_age) hours is kept.
seealso:
  - name: Rotating credentials
    description: docs/security.md in the collection.
    link: https://github.com/talos-autoextender/talos-autoextender/blob/main/docs/security.md
"""

EXAMPLES = r"""
- name: Re-issue the automation's Talos client certificate
  talos.autoextender.talos_client_config:
    talosconfig: "{{ autoextender_cluster.talosconfig }}"
    secrets_bundle: "{{ autoextender_cluster.secrets.path }}"
  register: client
"""

RETURN = r"""
talos_client_config:
  description: The talosconfig and its certificates (never a key).
  returned: success
  type: dict
  contains:
    path:
      description: The talosconfig.
      type: str
    context:
      description: Its context.
      type: str
    old:
      description: The certificate in use before (C(subject), C(serial), C(not_before), C(expires)).
      type: dict
    new:
      description: The certificate in use after (the old one when nothing changed; in check mode, none).
      type: dict
    verified:
      description: Whether the Talos API accepted the new certificate before the file was written.
      type: bool
"""

import os
import tempfile

from ansible_collections.talos.autoextender.plugins.module_utils import _talos_client_config as tcc
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._talos_secrets import (
    parse_bundle,
    read_file,
    secret_values,
    write_private_file,
)
from ansible_collections.talos.autoextender.plugins.module_utils._talosctl import TalosCLI, talosctl_argument_spec
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._validate import Range, ValidatedModule


def rotate(module, secrets):
    p = module.params
    path = p["talosconfig"]
    if not path:
        raise AutoextenderError("talosconfig is required: the file whose client certificate is re-issued",
                                kind=VALIDATION)
    config = tcc.load(read_file(path, "talosconfig"), path)
    name, ctx = tcc.context_of(config, path, p["context"])
    secrets.extend([ctx["key"]])
    bundle = parse_bundle(read_file(p["secrets_bundle"], "secrets bundle"), p["secrets_bundle"])
    secrets.extend(secret_values(bundle, all_strings=True))
    if not tcc.same_ca(ctx, bundle):
        raise AutoextenderError("The CA of %s (context %s) is not the OS CA of the secrets bundle %s: a certificate "
                                "from that bundle would not be trusted" % (path, name, p["secrets_bundle"]),
                                kind=VALIDATION)
    old = tcc.certificate(ctx)
    out = {"path": path, "context": name, "old": tcc.report(old), "new": tcc.report(old), "verified": False}
    if not tcc.needs_new(old, p["max_age"]):
        return False, out
    if module.check_mode:
        out["new"] = None
        return True, out
    workdir = tempfile.mkdtemp(prefix="autoextender-talosconfig-")  # mode 0700
    try:
        cli = TalosCLI.from_module(module, secrets=secrets)
        generated = os.path.join(workdir, "talosconfig")
        cli.run(["gen", "config", "--with-secrets", p["secrets_bundle"], "--output-types", "talosconfig",
                 "--output", generated], positional=[name or "cluster", "https://127.0.0.1:6443"], sensitive=True,
                what="issue a client certificate from the secrets bundle")
        new_config = tcc.merged(config, name, tcc.load(read_file(generated, "talosconfig"), generated))
        candidate = os.path.join(workdir, "candidate")
        write_private_file(candidate, tcc.dump(new_config).encode("utf-8"))
        secrets.append(new_config["contexts"][name]["key"])
        check = TalosCLI.from_module(module, secrets=secrets)
        check.talosconfig, check.context = candidate, name
        check.run(["version"], connect=True, what="reach the Talos API with the new client certificate")
        write_private_file(path, tcc.dump(new_config).encode("utf-8"))
    finally:
        for entry in os.listdir(workdir):
            os.unlink(os.path.join(workdir, entry))
        os.rmdir(workdir)
    out["new"], out["verified"] = tcc.report(tcc.certificate(new_config["contexts"][name])), True
    return True, out


def main():
    module = ValidatedModule(
        argument_spec=talosctl_argument_spec(
            secrets_bundle=dict(type="path", required=True),
            max_age=dict(type="int", default=24),
        ),
        supports_check_mode=True,
        rules={"max_age": Range(0, 24 * 365 * 10, "hours")},
    )
    secrets = []
    try:
        changed, result = rotate(module, secrets)
    except AutoextenderError as e:
        e = e.redacted(secrets)
        module.fail_json(msg=e.msg, failure=e.failure())
    module.exit_json(changed=changed, talos_client_config=result)


if __name__ == "__main__":
    main()
