# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: talos_image
short_description: Make a Talos image available in a cloud, once per Talos version, schematic and architecture
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Makes a Talos disk image from the Image Factory usable by new servers of O(provider), or deletes it.
  - "An image is identified by its Talos version, schematic and architecture, among the images carrying the
    ownership labels of O(cluster): a second run finds the image instead of making another one."
  - "How the image is made depends on the provider: on Hetzner a temporary rescue-mode server writes the image to
    its disk and is snapshotted (the server is always deleted); on Linode the image is uploaded; the lab records it."
  - An image without our labels is never deleted, and neither is an image that any server still uses, ours or
    another cluster's; O(state=absent) then keeps it, warns, and returns it with RV(talos_image.used_by).
extends_documentation_fragment:
  - talos.autoextender.cloud
  - talos.autoextender.cloud.wait
options:
  state:
    description:
      - V(present) makes the image when there is none; V(absent) deletes ours.
    type: str
    choices: [present, absent]
    default: present
  talos_version:
    description:
      - The Talos version of the image, for example V(v1.13.9).
    type: str
    required: true
  schematic:
    description:
      - The Image Factory schematic ID (system extensions, kernel arguments).
      - The default is the schematic without extensions.
    type: str
    default: 376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba
  arch:
    description:
      - The CPU architecture.
    type: str
    choices: [amd64, arm64]
    default: amd64
  name:
    description:
      - The image's name (a description on Hetzner, where snapshots have no names).
      - Defaults to C(talos-<version>-<arch>-<first 12 characters of the schematic>).
      - Not part of the identity; set only when the image is made.
    type: str
  source_url:
    description:
      - The URL of the disk image to make it from.
      - Defaults to the Image Factory file of the provider under O(factory_url), for example
        C(<factory_url>/image/<schematic>/<version>/hcloud-amd64.raw.xz) on Hetzner.
    type: str
  factory_url:
    description:
      - The Image Factory to take the disk image from when O(source_url) is not set.
    type: str
    default: https://factory.talos.dev
  labels:
    description:
      - More labels for the image, set when it is made. The ownership labels are always set.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description:
      - Predicts the image (without an id) and the same C(changed) as a real run.
  diff_mode:
    support: full
    description:
      - The image before and after.
  idempotent:
    support: full
    description:
      - An image with the same version, schematic and architecture is reused.
notes:
  - Making an image always waits until it is usable (O(wait=false) does not shorten it); O(wait_timeout)
    bounds it. On a timeout the image may still be in the making; the next run finds it.
seealso:
  - name: Talos Image Factory
    description: Where Talos disk images for each schematic and version come from.
    link: https://factory.talos.dev
"""

EXAMPLES = r"""
- name: The Talos image for Hetzner edge servers
  talos.autoextender.talos_image:
    provider: hetzner
    cluster: home
    talos_version: v1.13.9
    arch: amd64
  register: image

- name: Delete it (kept, with a warning, while any server still uses it)
  talos.autoextender.talos_image:
    provider: hetzner
    cluster: home
    talos_version: v1.13.9
    state: absent
"""

RETURN = r"""
talos_image:
  description:
    - The image. In check mode, the image as it would be (V(null) id). With O(state=absent), an empty dict, or the
      image that was kept because a server still uses it.
  returned: always
  type: dict
  contains:
    id:
      description: The provider's id of the image; pass it to M(talos.autoextender.cloud_server).
      type: str
      sample: "211"
    name:
      description: Its name.
      type: str
      sample: talos-v1.13.9-amd64-376567988ad3
    provider:
      description: The provider.
      type: str
      sample: hetzner
    status:
      description: V(creating), V(available) or V(failed).
      type: str
      sample: available
    labels:
      description: Its labels.
      type: dict
      sample: {managed-by: talos-autoextender, autoextender-cluster: home}
    talos_version:
      description: The Talos version.
      type: str
      sample: v1.13.9
    schematic:
      description: The schematic ID.
      type: str
      sample: 376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba
    arch:
      description: The architecture.
      type: str
      sample: amd64
    size_bytes:
      description: Its size, when the provider tells.
      type: int
      sample: 1288490188
    used_by:
      description: With O(state=absent), the names of the servers that still use the kept image.
      type: list
      elements: str
      returned: when an image was kept
      sample: [other-cluster-edge-1]
"""

from ansible_collections.talos.autoextender.plugins.module_utils._cloud_module import CloudResource, cloud_argument_spec
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._providers import base
from ansible_collections.talos.autoextender.plugins.module_utils._validate import ValidatedModule

IDENTITY = ("talos_version", "schematic", "arch")
#: the Image Factory file per provider, for providers that do not declare ``image_factory_file``
FACTORY_FILES = {"hetzner": "hcloud-{arch}.raw.xz", "linode": "akamai-{arch}.raw.gz"}


class TalosImage(CloudResource):
    return_key = "talos_image"
    _matches = ()

    def fetch(self):
        mine = [i for i in self.provider.list_images(self.ownership)
                if all(i[k] == self.params[k] for k in IDENTITY) and base.is_owned(i["labels"], self.params["cluster"])]
        # Prefer a usable image; the oldest first, so every run picks the same one.
        self._matches = sorted(mine, key=lambda i: (i["status"] != "available", len(i["id"]), i["id"]))
        return self._matches[0] if self._matches else None

    def source_url(self):
        if self.params["source_url"]:
            return self.params["source_url"]
        pattern = getattr(self.provider, "image_factory_file", None) or FACTORY_FILES.get(self.params["provider"])
        if not pattern:
            raise AutoextenderError("Provider %s has no default Image Factory file; set source_url"
                                    % self.params["provider"], kind=VALIDATION)
        return "%s/image/%s/%s/%s" % (self.params["factory_url"].rstrip("/"), self.params["schematic"],
                                      self.params["talos_version"], pattern.format(arch=self.params["arch"]))

    def desired(self):
        name = self.params["name"] or "talos-%s-%s-%s" % (self.params["talos_version"], self.params["arch"],
                                                          self.params["schematic"][:12])
        return dict(((k, self.params[k]) for k in IDENTITY), name=name, labels=self.labels())

    def compare(self, current, desired):
        return {}  # found by its identity; name and labels are set when it is made

    def predict_create(self, desired):
        self.source_url()
        return base.image(provider=self.params["provider"], status="available", **desired)

    def create(self, desired):
        return self.provider.create_talos_image(dict(desired, source_url=self.source_url()), self.deadline)

    def ensure(self):
        """``state=absent`` keeps every matching image a server still uses (anyone's server, not only ours)."""
        if self.params["state"] != "absent":
            return super().ensure()
        current = self.fetch()
        if current is None:
            return False, None, None
        users = [(image, self.provider.image_users(image)) for image in self._matches]
        kept = [dict(image, used_by=names) for image, names in users if names]
        self._matches = [image for image, names in users if not names]
        for image in kept:
            self.module.warn("The Talos image %s (%s) is kept: still used by server(s) %s"
                             % (image["name"], image["id"], ", ".join(image["used_by"])))
        after = kept[0] if kept else None
        if not self._matches:
            return False, current, after
        if not self.check_mode:
            self.delete(current)
        return True, current, after

    def delete(self, current):
        for image in self._matches:
            self.provider.delete_image(image, self.deadline)


def main():
    module = ValidatedModule(
        argument_spec=cloud_argument_spec(
            talos_version=dict(type="str", required=True),
            schematic=dict(type="str", default="376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"),
            arch=dict(type="str", default="amd64", choices=["amd64", "arm64"]),
            name=dict(type="str"),
            source_url=dict(type="str"),
            factory_url=dict(type="str", default="https://factory.talos.dev"),
        ),
        supports_check_mode=True,
    )
    TalosImage(module).run()


if __name__ == "__main__":
    main()
