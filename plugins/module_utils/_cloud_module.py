# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""What the cloud modules (talos_image, cloud_firewall, cloud_server, edge_pool_info) and the
edge_nodes inventory share: options, credentials per provider, ownership checks, one deadline.

Credentials: ``api_token`` falls back to the provider's own environment
variables (``_api_token``: ``HCLOUD_TOKEN``, ``LINODE_TOKEN``, ...), and
``api_url`` to ``HCLOUD_ENDPOINT``, ``LINODE_API_URL`` or ``LAB_CLOUD_URL``.
A static ``env_fallback`` cannot do this: which variable applies depends on
the ``provider`` option.

One deadline per task: ``CloudResource.deadline`` starts at the first API call
and bounds every retry and every wait of the task (``wait_timeout``).
"""

from __future__ import annotations

import os

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.talos.autoextender.plugins.module_utils import _api_token
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import CONFLICT, MISSING_LIBRARY
from ansible_collections.talos.autoextender.plugins.module_utils._providers import base, registry
from ansible_collections.talos.autoextender.plugins.module_utils._resource import Resource
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline

URL_ENV = {"hetzner": "HCLOUD_ENDPOINT", "linode": "LINODE_API_URL", "lab": "LAB_CLOUD_URL"}
DEFAULT_WAIT_TIMEOUT = 600


def connection_argument_spec(**extra):
    """The options of the ``talos.autoextender.cloud`` doc fragment, plus ``extra``."""
    spec = dict(
        provider=dict(type="str", required=True, choices=registry.names()),
        api_token=dict(type="str", no_log=True),
        api_url=dict(type="str"),
        cluster=dict(type="str", required=True),
    )
    spec.update(extra)
    return spec


def cloud_argument_spec(**extra):
    """The options of a stateful cloud module: connection, ``wait``/``wait_timeout`` (the ``cloud.wait``
    fragment), ``state`` and ``labels`` (documented by each module), plus ``extra``."""
    spec = dict(wait=dict(type="bool", default=True), wait_timeout=dict(type="int", default=DEFAULT_WAIT_TIMEOUT),
                state=dict(type="str", default="present", choices=["present", "absent"]),
                labels=dict(type="dict", default={}))
    spec.update(extra)
    return connection_argument_spec(**spec)


def make_provider(name, api_token=None, api_url=None, deadline=None, environ=None, module=None):
    """A CloudProvider with credentials from the options or the provider's environment variables;
    ``module`` runs the commands a provider needs (the Hetzner rescue runner's ssh)."""
    environ = os.environ if environ is None else environ
    token = api_token or _api_token.lookup(name, environ=environ)
    url = api_url or environ.get(URL_ENV.get(name, ""))
    options = {"api_url": url} if url else {}
    if deadline is not None:
        options["deadline"] = deadline
    if module is not None:
        options["module"] = module
    try:
        return registry.provider(name, {_api_token.KEY: token} if token else {}, options)
    except ImportError as e:
        raise AutoextenderError(missing_required_lib(e.name or str(e)), kind=MISSING_LIBRARY,
                                details={"provider": name})


def read_with_provider(module, read):
    """``(provider, read(provider))`` for a module that is not a CloudResource (the read-only modules, the floating
    watch): the provider from the module's connection options and ``wait_timeout``; any failure fails the module
    with its secrets redacted."""
    params = module.params
    provider = None
    try:
        provider = make_provider(params["provider"], params["api_token"], params["api_url"],
                                 Deadline(params["wait_timeout"]))
        return provider, read(provider)
    except AutoextenderError as e:
        e = e.redacted([params["api_token"]] + (provider.secrets() if provider else []))
        module.fail_json(msg=e.msg, failure=e.failure())
        raise  # fail_json exits; this line is never reached


def check_owned(found, what, cluster, pool=None):
    """Refuse a resource with the right name that is not ours (or belongs to another cluster or pool)."""
    labels = found.get("labels") or {}
    if base.is_owned(labels, cluster) and (pool is None or labels.get(base.POOL_LABEL) == pool):
        return found
    owner = "cluster %s, pool %s" % (cluster, pool) if pool else "cluster %s" % cluster
    raise AutoextenderError(
        "A %s named %s exists but is not managed by talos-autoextender for %s (its labels: %s); it is left alone"
        % (what, found.get("name"), owner, ", ".join("%s=%s" % kv for kv in sorted(labels.items())) or "none"),
        kind=CONFLICT, details={"id": found.get("id"), "labels": labels})


def owned_servers(provider, cluster=None, pool=None):
    """The servers carrying our labels (of ``cluster``/``pool`` when given), sorted by name."""
    selector = base.ownership_labels(cluster, pool) if cluster else {base.MANAGED_BY: base.MANAGED_BY_VALUE}
    servers = [s for s in provider.list_servers(selector) if base.is_owned(s["labels"], cluster)
               and (pool is None or s["labels"].get(base.POOL_LABEL) == pool)]
    return sorted(servers, key=lambda s: (s["name"], s["id"]))


def owned_floating_ips(provider, cluster, pool=None):
    """The floating addresses carrying our labels of ``cluster`` (and ``pool``), sorted by name."""
    found = [f for f in provider.list_floating_ips(base.ownership_labels(cluster, pool))
             if base.is_owned(f["labels"], cluster) and (pool is None or f["labels"].get(base.POOL_LABEL) == pool)]
    return sorted(found, key=lambda f: (f["name"], f["id"]))


def image_versions(provider, cluster=None):
    """``{image id: talos_version}`` of our images."""
    selector = base.ownership_labels(cluster) if cluster else {base.MANAGED_BY: base.MANAGED_BY_VALUE}
    return dict((i["id"], i["talos_version"]) for i in provider.list_images(selector) if i["talos_version"])


class CloudResource(Resource):
    """A Resource that talks to one cloud provider within one deadline."""

    _provider = None
    _deadline = None
    _extra_secrets = ()

    @property
    def deadline(self):
        if self._deadline is None:
            timeout = self.params.get("wait_timeout")  # 0 is a real deadline (one attempt), not the default
            self._deadline = Deadline(DEFAULT_WAIT_TIMEOUT if timeout is None else timeout)
        return self._deadline

    @property
    def provider(self):
        if self._provider is None:
            self._provider = make_provider(self.params["provider"], self.params.get("api_token"),
                                           self.params.get("api_url"), self.deadline, module=self.module)
        return self._provider

    @property
    def ownership(self):
        return base.ownership_labels(self.params["cluster"], self.params.get("pool"))

    def secrets(self):
        out = [self.params.get("api_token")] + list(self._extra_secrets)
        if self._provider is not None:
            out += self._provider.secrets()
        return [s for s in out if s]

    def notices(self):
        return list(self._provider.notices) if self._provider is not None else []

    def labels(self):
        """Our ownership labels over the user's ``labels`` (ours always win)."""
        labels = dict((str(k), str(v)) for k, v in (self.params.get("labels") or {}).items())
        labels.update(self.ownership)
        return labels

    def check_owned(self, found, what):
        return check_owned(found, what, self.params["cluster"], self.params.get("pool"))
