# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT), or at your option
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloud_server
short_description: Create or delete a Talos edge server of an edge pool
version_added: 0.1.0
author:
  - talos-autoextender contributors (@talos-autoextender)
description:
  - Creates a cloud server that boots Talos from a Talos image (see M(talos.autoextender.talos_image)), for one
    edge pool of the home cluster, or deletes it.
  - The server carries the ownership labels C(managed-by=talos-autoextender), C(autoextender-cluster=<cluster>)
    and C(autoextender-pool=<pool>). A server with the same name but without these labels (or of another cluster
    or pool) is never changed or deleted; the module fails and names its labels.
  - The server is found by O(name). A create whose answer was lost (a dropped connection, or a 5xx after the cloud
    made the server) is never sent again blindly; the server is looked up by name and labels and adopted (with a
    warning), so there is never a second one. A delete whose answer was lost is checked the same way; a server
    that is gone counts as deleted.
  - With O(state=present), an existing server of ours that is not running (V(off), or V(stopping)) is started
    and, with O(wait), waited for; a run cut short between the create and the boot leaves such a server.
    Where the provider has a boot configuration (Linode's config profiles), one that would not boot Talos
    (a kernel other than C(linode/direct-disk)) is fixed first, and a running Linode is rebooted with it.
    This is a change (RV(cloud_server.status), RV(cloud_server.boot_config)), predicted in check mode and shown
    in the diff.
  - The server joins the cluster either from O(user_data) (its machine config), or, without O(user_data), it
    boots into Talos maintenance mode and waits for C(talosctl apply-config --insecure) from the control node.
extends_documentation_fragment:
  - talos.autoextender.cloud
  - talos.autoextender.cloud.wait
options:
  state:
    description:
      - V(present) creates the server when it does not exist, updates its labels and starts it when it is not
        running; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - The server's name, unique within the provider's project.
      - Required unless O(names) is given.
    type: str
  names:
    description:
      - Several servers of the pool in one task, each handled as O(name) would be, every other option shared, one
        after another within one O(wait_timeout). The result is then RV(cloud_server.servers), one entry per name
        in order, and the diff a list. A failure names its server and returns the servers handled before it; a
        re-run goes on from there.
      - A pool's servers take one task this way where a loop takes a process per server.
      - Mutually exclusive with O(name) and O(user_data).
    type: list
    elements: str
  user_data_dir:
    description:
      - With O(names), the directory holding each server's machine config as C(<name>.yaml) (as
        M(talos.autoextender.talos_machine_config) writes them with O(talos.autoextender.talos_machine_config#module:dest_dir)),
        sent as its user data. Read on the host the task runs on.
      - Without it, the servers boot into maintenance mode, as without O(user_data).
    type: path
  pool:
    description:
      - The edge pool the server belongs to (label C(autoextender-pool)).
    type: str
    required: true
  location:
    description:
      - Where the server runs (a Hetzner location such as V(hel1), a Linode region such as V(fr-par),
        V(loopback) in the lab). An unknown value fails with the list of valid ones.
      - Required with O(state=present). It cannot change on an existing server.
    type: str
  server_type:
    description:
      - The size of the server (V(cx22), V(g6-standard-1), V(lab-small), ...). An unknown value fails with the
        list of valid ones.
      - Required with O(state=present). It cannot change on an existing server.
    type: str
  image:
    description:
      - The id of the Talos image to boot, RV(talos.autoextender.talos_image#module:talos_image.id).
      - Required with O(state=present). It cannot change on an existing server.
    type: str
  user_data:
    description:
      - The machine config the server boots with (a Talos worker config). It holds the cluster's secrets,
        it is never returned, shown in a diff or logged.
      - Checked against the provider's size limit (Hetzner and the lab 32 KiB, Linode about 16 KiB).
      - Used only when the server is created; the cloud does not return it, so a change is not detected.
      - Without it the server boots into maintenance mode, the safer join (no cluster secret is kept in the
        cloud's metadata service).
    type: str
  labels:
    description:
      - More labels for the server. The ownership labels are always set and cannot be overridden.
      - Labels not listed here are kept.
    type: dict
    default: {}
  firewall:
    description:
      - The id of a firewall to attach at creation, on providers that attach firewalls per server.
        Firewalls of M(talos.autoextender.cloud_firewall) apply by labels, so this is rarely needed.
      - The provider's numeric id (V(38)); anything else fails before any API call.
    type: str
  ipv4:
    description:
      - Give the server a public IPv4 address.
    type: bool
    default: true
  ipv6:
    description:
      - Give the server a public IPv6 address.
      - With O(state=present), at least one of O(ipv4) and O(ipv6) must be V(true).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description:
      - Predicts the server (without its addresses and id) and the same C(changed) as a real run; an unknown
        location or server type fails in check mode too. A server that is off is predicted V(running).
  diff_mode:
    support: full
    description:
      - The server before and after; O(user_data) is shown redacted.
  idempotent:
    support: full
    description:
      - A second run with the same options changes nothing.
seealso:
  - module: talos.autoextender.talos_image
  - module: talos.autoextender.cloud_firewall
  - module: talos.autoextender.edge_pool_info
"""

EXAMPLES = r"""
- name: An edge server in pool hel1-a, joining from its user data
  talos.autoextender.cloud_server:
    provider: hetzner
    cluster: home
    pool: hel1-a
    name: home-hel1-a-1
    location: hel1
    server_type: cx22
    image: "{{ image.talos_image.id }}"
    user_data: "{{ lookup('ansible.builtin.file', 'private/worker-hel1-a-1.yaml') }}"
  register: server

- name: An edge server on the local lab that boots into maintenance mode
  talos.autoextender.cloud_server:
    provider: lab
    cluster: lab
    pool: lab-a
    name: lab-a-1
    location: loopback
    server_type: lab-small
    image: "{{ image.talos_image.id }}"

- name: Delete it
  talos.autoextender.cloud_server:
    provider: lab
    cluster: lab
    pool: lab-a
    name: lab-a-1
    state: absent
"""

RETURN = r"""
cloud_server:
  description:
    - The server. In check mode, the server as it would be (unknown values are V(null)).
    - With O(state=absent), an empty dict.
    - When the module fails after the server exists (a timeout, a failed boot), the server as last seen.
  returned: always
  type: dict
  contains:
    servers:
      description:
        - With O(names), one dict per name in order, each with the keys below (C({name, state=absent}) for a server
          deleted or already absent); the other keys are then not returned.
        - On a failure, the servers handled before the one that failed.
      type: list
      elements: dict
      returned: when O(names) is given
      sample: [{name: hel1-a-1, status: running, public_ipv4: 192.0.2.10}]
    id:
      description: The provider's id of the server.
      type: str
      sample: "4711"
    name:
      description: The server's name.
      type: str
      sample: home-hel1-a-1
    provider:
      description: The provider.
      type: str
      sample: hetzner
    location:
      description: Where it runs.
      type: str
      sample: hel1
    server_type:
      description: Its size.
      type: str
      sample: cx22
    status:
      description: One of V(starting), V(running), V(stopping), V(off), V(deleting), V(unknown).
      type: str
      sample: running
    public_ipv4:
      description: The public IPv4 address, or V(null).
      type: str
      sample: 203.0.113.7
    public_ipv6:
      description: The public IPv6 address, or V(null).
      type: str
      sample: 2001:db8::1
    image:
      description: The id of the image it was created from.
      type: str
      sample: "1234"
    labels:
      description: Its labels, ownership labels included.
      type: dict
      sample: {managed-by: talos-autoextender, autoextender-cluster: home, autoextender-pool: hel1-a}
    created:
      description: When it was created (ISO 8601).
      type: str
      sample: "2026-04-01T10:00:00Z"
    boot_config:
      description:
        - The boot configuration that was fixed (on Linode the C(kernel) of its config profiles, now
          C(linode/direct-disk)); in the diff's C(before), what it was.
      type: dict
      returned: when the server's boot configuration would not boot Talos
      sample: {kernel: linode/direct-disk}
    user_data:
      description: Only when this run created the server with O(user_data), and always redacted.
      type: str
      returned: when created with user data
      sample: "********"
"""

import os

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None

from ansible_collections.talos.autoextender.plugins.module_utils._cloud_module import CloudResource, cloud_argument_spec
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import VALIDATION
from ansible_collections.talos.autoextender.plugins.module_utils._item_module import ItemModule
from ansible_collections.talos.autoextender.plugins.module_utils._providers import base
from ansible_collections.talos.autoextender.plugins.module_utils._talos_secrets import secret_values
from ansible_collections.talos.autoextender.plugins.module_utils._validate import NumericId, ValidatedModule, one_true_of


def config_secrets(user_data):
    """The user data and the secret-looking values inside it, to keep out of every output."""
    found = [user_data]
    try:
        docs = list(yaml.safe_load_all(user_data)) if yaml else []
    except yaml.YAMLError:
        docs = []
    for doc in docs:
        found += secret_values(doc)
    return found


#: statuses of a server that exists but is not coming up by itself: state=present starts it
DOWN = ("off", "stopping")


class CloudServer(CloudResource):
    return_key = "cloud_server"
    immutable = ("location", "server_type", "image")
    secret_fields = ("user_data",)

    _drift = None

    def fetch(self):
        user_data = self.params.get("user_data")
        if user_data:
            self._extra_secrets = config_secrets(user_data)
        found = self.provider.get_server(self.params["name"])
        if found is None:
            return None
        found = self.check_owned(found, "server")
        if self.params["state"] == "present" and found["status"] not in ("deleting", "unknown"):
            self._drift = self.provider.boot_drift(found)
            if self._drift:
                found = dict(found, boot_config=dict((k, have) for k, (have, dummy) in self._drift.items()))
        return found

    def desired(self):
        user_data = self.params.get("user_data")
        limit = self.provider.user_data_limit
        if user_data is not None and (limit is None or len(user_data.encode("utf-8")) > limit):
            raise AutoextenderError(
                "user_data is %d bytes; provider %s accepts %s" % (
                    len(user_data.encode("utf-8")), self.params["provider"],
                    "at most %d" % limit if limit else "none (boot into maintenance mode instead)"),
                kind=VALIDATION, details={"size": len(user_data.encode("utf-8")), "limit": limit})
        return {"name": self.params["name"], "location": self.params["location"],
                "server_type": self.params["server_type"], "image": self.params["image"], "labels": self.labels()}

    def compare(self, current, desired):
        """Labels as asked, and a server that is not running (or would boot wrongly) is brought up."""
        changes = super().compare(current, desired)
        if current["status"] in DOWN or self._drift:
            changes["status"] = (current["status"], "running")
        if self._drift:
            changes["boot_config"] = (current["boot_config"], dict((k, want) for k, (dummy, want) in self._drift.items()))
        return changes

    def predict_update(self, current, changes):
        after = super().predict_update(current, changes)
        if "status" in changes:
            after["status"] = "running" if self.params["wait"] else "starting"
        return after

    def predict_create(self, desired):
        self.provider.check_placement(desired["location"], desired["server_type"])
        out = base.server(provider=self.params["provider"], status="running" if self.params["wait"] else "starting",
                          **desired)
        return self.with_user_data(out)

    def with_user_data(self, state):
        if self.params.get("user_data") is not None:
            state = dict(state, user_data=self.params["user_data"])
        return state

    def create(self, desired):
        self.provider.check_placement(desired["location"], desired["server_type"])
        spec = dict(desired, user_data=self.params.get("user_data"), firewall=self.params.get("firewall"),
                    ipv4=self.params["ipv4"], ipv6=self.params["ipv6"])
        # A lost answer is looked after by the provider (_providers/_lost_answer.py): it adopts, never duplicates.
        return self.with_user_data(self.provider.create_server(spec, self.deadline))

    def update(self, current, changes):
        state = current
        if "labels" in changes:
            labels = dict(current["labels"], **changes["labels"][1])
            state = self.provider.update_server_labels(current, labels, self.deadline)
        if "status" in changes:
            state = self.provider.start_server(state, self.deadline)
        return self.with_boot_config(state, changes)

    def with_boot_config(self, state, changes):
        """Keep the boot configuration that was fixed in the result (and the diff)."""
        if "boot_config" in changes:
            state = dict(state, boot_config=changes["boot_config"][1])
        return state

    def delete(self, current):
        self.provider.delete_server(current, self.deadline)

    def wait(self, state, deadline):
        if state.get("status") == "running":
            return state
        out = self.with_user_data(self.provider.wait_server(state, self.deadline))
        return dict(out, boot_config=state["boot_config"]) if "boot_config" in state else out


def one_target(params):
    """Either O(name) or O(names), never both; O(user_data_dir) goes with O(names)."""
    many = params.get("names") is not None
    rule = "name (one server), or names (several; user_data_dir instead of user_data)"
    both = [k for k in ("name", "user_data") if many and params.get(k) is not None]
    if both:
        problem = "names cannot be combined with %s" % " or ".join(both)
    elif not many and not params.get("name"):
        problem = "name is required unless names is given"
    elif not many and params.get("user_data_dir"):
        problem = "user_data_dir goes with names"
    else:
        return
    raise AutoextenderError("%s: give %s" % (problem, rule), kind=VALIDATION,
                            details={"option": "names" if many else "name", "rule": rule})


def read_user_data(directory, name):
    path = os.path.join(directory, name + ".yaml")
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        raise AutoextenderError("Failed to read the user data of %s from %s: %s" % (name, path, e),
                                kind=VALIDATION, details={"path": path})


def run_names(module):
    """O(names): each server in turn, one provider and one deadline; the first failure names its server."""
    servers, diffs, changed, first = [], [], False, None
    for name in module.params["names"]:
        own = {"name": name, "names": None, "user_data_dir": None}
        one = CloudServer(ItemModule(module, **own))
        if first is not None:  # one client and one deadline for the task
            one._provider, one._deadline = first.provider, first.deadline
        first = first or one
        try:
            if module.params["user_data_dir"] and module.params["state"] == "present":
                one.params["user_data"] = read_user_data(module.params["user_data_dir"], name)
            server_changed, before, after = one.ensure()
            if server_changed and after is not None and not module.check_mode and module.params["wait"]:
                after = one.wait(after, one.deadline)
        except AutoextenderError as e:
            e = e.redacted(one.secrets())
            one.warn()
            module.fail_json(msg="%s: %s" % (name, e.msg), failure=dict(e.failure(), server=name),
                             cloud_server={"servers": servers})
            return
        changed = changed or server_changed
        servers.append(one.redacted(after) or {"name": name, "state": "absent"})
        diffs.append({"before": one.redacted(before) or {}, "after": one.redacted(after) or {}})
    if first is not None:
        first.warn()
    result = {"changed": changed, "cloud_server": {"servers": servers}}
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


def main():
    module = ValidatedModule(
        rules={"firewall": NumericId()},
        checks=[one_target,
                one_true_of("ipv4", "ipv6", when={"state": "present"}, why="a server needs a public address")],
        argument_spec=cloud_argument_spec(
            name=dict(type="str"),
            names=dict(type="list", elements="str"),
            user_data_dir=dict(type="path"),
            pool=dict(type="str", required=True),
            location=dict(type="str"),
            server_type=dict(type="str"),
            image=dict(type="str"),
            user_data=dict(type="str", no_log=True),
            firewall=dict(type="str"),
            ipv4=dict(type="bool", default=True),
            ipv6=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ("location", "server_type", "image"))],
        supports_check_mode=True,
    )
    if module.params["names"] is not None:
        run_names(module)
    else:
        CloudServer(module).run()


if __name__ == "__main__":
    main()
