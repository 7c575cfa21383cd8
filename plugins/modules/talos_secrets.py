# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: talos_secrets
short_description: Keep the secrets bundle of an existing Talos cluster in a private file
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Writes the secrets bundle (C(secrets.yaml)) of the home cluster to O(dest), with mode C(0600).
    New machine configs for cloud workers are rendered from this bundle, so they join the existing cluster.
  - The bundle comes either from the cluster's controlplane machine config, through
    C(talosctl gen secrets --from-controlplane-config), or from an existing bundle file (O(src)), which is validated and copied.
  - Only the C(v1alpha1) document of the controlplane config is passed to C(talosctl); other documents
    (for example C(HostnameConfig)) are stripped into a private temporary file first.
  - Never generates new secrets for a cluster. When O(dest) holds a different bundle, the module fails
    unless O(force=true).
  - Never returns or prints a secret, not even on error. C(talosctl) echoes parts of a config it cannot parse
    (secrets included); that output is withheld from the error.
extends_documentation_fragment:
  - talos.autoextender.talosctl
options:
  dest:
    description:
      - Path of the secrets bundle to write. Its directory must exist.
      - The file is always given mode C(0600).
    type: path
    required: true
  from_controlplane_config:
    description:
      - Path of a controlplane machine config of the cluster (as written by C(talosctl gen config),
        or read from a node), possibly with several YAML documents.
      - Exactly one of O(from_controlplane_config) and O(src) is required.
      - Needs C(talosctl); a worker config is refused, it does not hold the cluster's private keys.
    type: path
  src:
    description:
      - Path of an existing secrets bundle (from C(talosctl gen secrets)) to validate and copy to O(dest).
      - Does not need C(talosctl).
    type: path
  force:
    description:
      - Replace O(dest) when it holds a different secrets bundle.
      - With V(false), a different bundle at O(dest) is an error, so the secrets of a cluster are never replaced silently.
      - A bundle with the same content is left as it is either way.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description:
      - Reports whether O(dest) would change, without writing it. C(talosctl) still runs, offline, into a private
        temporary directory, so a bad controlplane config fails in check mode too.
  diff_mode:
    support: none
    description:
      - The content is secret; compare RV(talos_secrets.checksum) instead.
  idempotent:
    support: full
    description:
      - O(dest) with the same secrets (and mode C(0600)) is left unchanged.
notes:
  - The options O(talosconfig), O(nodes), O(endpoints) and O(context) are accepted and ignored;
    this module works offline.
seealso:
  - name: talosctl gen secrets
    description: The reference of the command this module wraps.
    link: https://www.talos.dev/latest/reference/cli/#talosctl-gen-secrets
"""

EXAMPLES = r"""
- name: Extract the secrets bundle from the home cluster's controlplane config
  talos.autoextender.talos_secrets:
    from_controlplane_config: "{{ playbook_dir }}/private/controlplane.yaml"
    dest: "{{ playbook_dir }}/private/secrets.yaml"

- name: Use the bundle kept since the cluster was created
  talos.autoextender.talos_secrets:
    src: /secure/home-cluster/secrets.yaml
    dest: "{{ playbook_dir }}/private/secrets.yaml"

- name: Replace a bundle that belongs to another cluster (never done without force)
  talos.autoextender.talos_secrets:
    from_controlplane_config: "{{ playbook_dir }}/private/controlplane.yaml"
    dest: "{{ playbook_dir }}/private/secrets.yaml"
    force: true
"""

RETURN = r"""
talos_secrets:
  description: The secrets bundle file (never its content). In check mode, the file as it would be.
  returned: success
  type: dict
  contains:
    path:
      description: The path of the bundle, O(dest).
      returned: success
      type: str
      sample: /home/ops/private/secrets.yaml
    checksum:
      description: SHA-256 of the file.
      returned: success
      type: str
      sample: 6f1ed002ab5595859014ebf0951522d9b7f1e3a8f5bfb4c4a0c6f4b0e4c1b2a3
"""

import os

from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import CONFLICT, VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._resource import Resource
from ansible_collections.talos.autoextender.plugins.module_utils._talos_secrets import (
    bundle_from_controlplane_config,
    parse_bundle,
    read_file,
    secret_values,
    sha256,
    write_private_file,
)
from ansible_collections.talos.autoextender.plugins.module_utils._talosctl import TalosCLI, talosctl_argument_spec
from ansible_collections.talos.autoextender.plugins.module_utils._validate import ValidatedModule

MODE = 0o600


class SecretsBundle(Resource):
    """The bundle file: identity O(dest), content compared as parsed YAML, mode 0600."""

    return_key = "talos_secrets"
    _secret_list = None
    _current = None  # parsed bundle at dest (None when absent or unparsable)
    _current_mode = None
    _content = None  # bytes to write
    _data = None  # parsed bundle to write

    def secrets(self):
        if self._secret_list is None:
            self._secret_list = []
        return self._secret_list

    def fetch(self):
        dest = self.params["dest"]
        if not os.path.lexists(dest):
            return None
        if os.path.isdir(dest):
            raise AutoextenderError("dest %s is a directory" % dest, kind=VALIDATION, details={"path": dest})
        content = read_file(dest, "secrets bundle")
        try:
            self._current = parse_bundle(content, dest)
            self.secrets().extend(secret_values(self._current, all_strings=True))
        except AutoextenderError:
            self._current = None  # not a bundle: only force may replace it
        self._current_mode = os.stat(dest).st_mode & 0o7777
        return {"path": dest, "checksum": sha256(content)}

    def desired(self):
        dest = self.params["dest"]
        if not os.path.isdir(os.path.dirname(os.path.abspath(dest))):
            raise AutoextenderError("The directory of dest %s does not exist" % dest, kind=VALIDATION,
                                    details={"path": dest})
        if self.params["src"]:
            self._content = read_file(self.params["src"], "secrets bundle")
        else:
            cli = TalosCLI.from_module(self.module, secrets=self.secrets())
            self._content = bundle_from_controlplane_config(cli, self.params["from_controlplane_config"],
                                                            secrets=self.secrets())
        source = self.params["src"] or "the bundle generated from %s" % self.params["from_controlplane_config"]
        self._data = parse_bundle(self._content, source)
        self.secrets().extend(secret_values(self._data, all_strings=True))
        return {"path": dest, "checksum": sha256(self._content)}

    def compare(self, current, desired):
        changes = {}
        if current["checksum"] != desired["checksum"] and self._current != self._data:
            if not self.params["force"]:
                raise AutoextenderError(
                    "dest %s already holds a different secrets bundle (or another file); it is not replaced "
                    "unless force=true, because a cluster's secrets must never change silently" % current["path"],
                    kind=CONFLICT, details={"path": current["path"], "checksum": current["checksum"]})
            changes["checksum"] = (current["checksum"], desired["checksum"])
        if self._current_mode != MODE:
            changes["mode"] = ("%04o" % self._current_mode, "%04o" % MODE)
        return changes

    def create(self, desired):
        write_private_file(desired["path"], self._content)
        return desired

    def predict_update(self, current, changes):
        return {"path": current["path"], "checksum": changes.get("checksum", (None, current["checksum"]))[1]}

    def update(self, current, changes):
        if "checksum" in changes:
            write_private_file(current["path"], self._content)
        else:
            os.chmod(current["path"], MODE)
        return self.predict_update(current, changes)

    def delete(self, current):
        raise AutoextenderError("talos_secrets never deletes a bundle", kind=VALIDATION)

    def run(self):
        self.diff_mode = False  # the content is secret: no diff (compare the checksum)
        super().run()


def main():
    module = ValidatedModule(
        argument_spec=talosctl_argument_spec(
            dest=dict(type="path", required=True),
            from_controlplane_config=dict(type="path"),
            src=dict(type="path"),
            force=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("from_controlplane_config", "src")],
        required_one_of=[("from_controlplane_config", "src")],
        supports_check_mode=True,
    )
    SecretsBundle(module).run()


if __name__ == "__main__":
    main()
