# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""What the doctor checks, each the way the modules themselves would do it.

Every check returns one dict ``{"name", "ok", "detail", "fix", "kind"}``:
``detail`` says what was found, ``fix`` (None when ok) what to do about it,
``kind`` (None when ok) the failure kind of the error behind it.

- ``talosctl``: selected and version-gated by ``TalosCLI`` (``talosctl_path``, else
  the talosctl of the home cluster's Talos line, see ``select_talosctl``), exactly
  as every Talos module finds it; the detail says which one and why.
- Python libraries: imported in the Python that runs the modules.
- A cloud provider: its credential is there (``autoextender_credentials`` or the
  environment variable, as ``make_provider`` takes it) and its API accepts it for a read-only call (list
  our servers).
- The DNS provider: its credential is there and the zone answers a read-only
  call (read the edge record set), through the backend ``dns_record_set`` uses.
- The home cluster's Kubernetes API: the kubeconfig exists and ``/version`` answers.

Nothing here writes anything.
"""

from __future__ import annotations

import os

from ansible_collections.talos.autoextender.plugins.module_utils import _api_token, _k8s_client
from ansible_collections.talos.autoextender.plugins.module_utils._cloud_module import URL_ENV, make_provider
from ansible_collections.talos.autoextender.plugins.module_utils._dns_module import LIBRARIES as DNS_LIBRARIES
from ansible_collections.talos.autoextender.plugins.module_utils._dns_module import backend_from_params
from ansible_collections.talos.autoextender.plugins.module_utils._dns.base import fqdn
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import (
    API, AUTH, CONNECTION, MISSING_LIBRARY, MISSING_TOOL, NOT_FOUND, TIMEOUT, VALIDATION,
)
from ansible_collections.talos.autoextender.plugins.module_utils._providers import base
from ansible_collections.talos.autoextender.plugins.module_utils._talosctl import (
    MAKE_TOOLS_BUILDS,
    MINIMUM_VERSION,
    TalosCLI,
)
from ansible_collections.talos.autoextender.plugins.module_utils._wait import Deadline

#: the variable the workflows take credentials from (docs/security.md)
CREDENTIALS = "autoextender_credentials"
#: cloud provider -> where its credential comes from, for the fix
CLOUD_CREDENTIAL = {
    "hetzner": "a Hetzner Cloud API token with Read & Write (Cloud Console: your project > Security > API tokens)",
    "linode": "a Linode personal access token with Linodes, Images and Firewalls read/write (Cloud Manager > "
              "API Tokens)",
    "lab": "the url and token of the lab's cloud.json (the lab inventory does it; start the lab with "
           "`python3 hack/lab.py up`, docs/lab.md)",
}
#: DNS provider -> where its credential comes from, for the fix
DNS_CREDENTIAL = {
    "powerdns": "the API key of your PowerDNS server (its api-key setting)",
    "cloudflare": "a Cloudflare API token with Zone.Zone read and Zone.DNS edit on the zone",
    "hetzner": "a Hetzner API token of the project that holds the zone (Read & Write)",
    "linode": "a Linode personal access token with Domains read/write",
    "rfc2136": "the TSIG secret (base64) of the key the primary server accepts updates with",
}
#: Python modules every run needs (kubernetes.core and our Kubernetes modules; PyYAML)
BASE_LIBRARIES = (("kubernetes", "kubernetes"), ("yaml", "PyYAML"))
#: cloud provider -> (Python module, pip name) it needs
CLOUD_LIBRARIES = {"hetzner": ("hcloud", "hcloud"), "linode": ("linode_api4", "linode_api4"),
                   "lab": ("requests", "requests")}


#: (text in an error, what it means) for endpoints that do not answer
UNREACHABLE_REASONS = (("Connection refused", "connection refused"), ("timed out", "timed out"),
                       ("Name or service not known", "name not resolved"),
                       ("Temporary failure in name resolution", "name not resolved"),
                       ("CERTIFICATE_VERIFY_FAILED", "TLS certificate not trusted"))


def result(name, ok, detail, fix=None, kind=None, endpoint=None):
    return {"name": name, "ok": bool(ok), "detail": detail, "fix": None if ok else fix, "kind": None if ok else kind,
            "endpoint": endpoint}


def unreachable(error, endpoint):
    """``"no answer from <endpoint> (<reason>)"`` when ``error`` means nothing answered, else None."""
    if not (error.kind == CONNECTION or (error.kind in (API, TIMEOUT) and error.details.get("status") is None
                                         and not error.details.get("code"))):
        return None
    reason = next((why for text, why in UNREACHABLE_REASONS if text in error.msg), None)
    return "no answer from %s (%s)" % (endpoint or "its API", reason or error.msg[:160])


def check_talosctl(talosctl_path=None, runner=None, environ=None, talos_version=None):
    """Find talosctl as the Talos modules do (for the home cluster's ``talos_version``) and say why that one."""
    cli = TalosCLI(talosctl_path=talosctl_path, talos_version=talos_version, runner=runner, environ=environ)
    try:
        version = cli.version()
    except AutoextenderError as e:
        if e.details.get("install"):  # no talosctl of the home cluster's Talos line
            fix = e.details["install"]
        elif e.kind == MISSING_TOOL:
            fix = ("run `make tools` in the collection's checkout, or install talosctl v%s or newer on PATH or in "
                   "$AUTOEXTENDER_TOOLS (default ~/.cache/talos-autoextender/bin), or set talosctl_path"
                   % MINIMUM_VERSION)
        else:
            fix = ("install talosctl v%s or newer (`make tools` builds %s)"
                   % (MINIMUM_VERSION, " and ".join(MAKE_TOOLS_BUILDS)))
        return result("talosctl", False, e.msg, fix, e.kind)
    return result("talosctl", True, "talosctl %s at %s: %s" % (version, cli.binary(), cli.why))


def libraries_for(providers, dns_provider=None):
    """``[(module, pip name)]`` the chosen providers need, base libraries first, no duplicates."""
    wanted = list(BASE_LIBRARIES) + [CLOUD_LIBRARIES[p] for p in providers if p in CLOUD_LIBRARIES]
    if dns_provider in DNS_LIBRARIES:
        wanted.append(DNS_LIBRARIES[dns_provider])
    out = []
    for item in wanted:
        if item not in out:
            out.append(item)
    return out


def check_library(module_name, pip_name, python, importer=__import__):
    try:
        importer(module_name)
    except ImportError as e:
        return result("python library %s" % pip_name, False, "cannot import %s: %s" % (module_name, e),
                      "`%s -m pip install %s` (the Python that runs the modules; requirements.txt lists them all)"
                      % (python, pip_name), "missing_library")
    return result("python library %s" % pip_name, True, "%s imports" % module_name)


def _api_fix(kind, credential, source, url=None):
    """What to do when an API refused or did not answer."""
    if kind == AUTH:
        return "the API refused the credential: replace %s with %s" % (source, credential)
    if kind == MISSING_LIBRARY:
        return "install the library it names (`pip install -r requirements.txt`)"
    if kind == NOT_FOUND:
        return "check the zone name and that %s can see it" % source
    where = " at %s" % url if url else ""
    return "the API did not answer%s: check the network, api_url and the provider's status page" % where


def _token_source(provider):
    """Where the doctor tells the user to put ``provider``'s token (its first variable; aliases work too)."""
    return "%s.%s.api_token (or %s)" % (CREDENTIALS, provider, _api_token.env_names(provider)[0])


def check_cloud(provider, credentials=None, timeout=10, environ=None):
    """The provider's credential is there and its API accepts it for a read-only call.

    ``credentials``: the ``cloud`` options of ``autoextender_credentials`` (``api_token``, ``api_url``);
    what is missing comes from the environment, as in the cloud modules.
    """
    environ = os.environ if environ is None else environ
    credentials = credentials or {}
    name = "cloud provider %s" % provider
    source = _token_source(provider)
    token = _api_token.lookup(provider, credentials, environ)
    if provider == "lab":
        source = "%s.lab.api_url and api_token (or LAB_CLOUD_CONFIG)" % CREDENTIALS
        token = token or environ.get("LAB_CLOUD_CONFIG")
    if not token:
        return result(name, False, "no credential: %s is not set" % source,
                      "set %s to %s" % (source, CLOUD_CREDENTIAL.get(provider, "the provider's API token")), AUTH)
    url = credentials.get("api_url") or environ.get(URL_ENV.get(provider, ""))
    try:
        cloud = make_provider(provider, credentials.get("api_token"), credentials.get("api_url"), Deadline(timeout),
                              environ)
        servers = cloud.list_servers({base.MANAGED_BY: base.MANAGED_BY_VALUE})
    except AutoextenderError as e:
        e = e.redacted([token, credentials.get("api_token")])
        fix = _api_fix(e.kind, CLOUD_CREDENTIAL.get(provider, "a valid token"), source, url)
        if provider == "lab" and e.kind != AUTH:
            fix = "the lab is not running: start it with `python3 hack/lab.py up` (docs/lab.md)"
        # An api_url given with the credentials is masked in the output (no_log): do not name it.
        shown = None if credentials.get("api_url") else url
        return result(name, False, unreachable(e, shown) or e.msg, fix, e.kind, url)
    return result(name, True, "the API accepted the credential (%d servers of ours)" % len(servers), endpoint=url)


def check_dns(dns, credentials=None, timeout=10, environ=None):
    """The DNS provider's credential is there and the zone answers a read of the edge record set.

    ``credentials``: the ``dns`` options of ``autoextender_credentials`` (``api_token``, or ``tsig_key_name``
    and ``tsig_key_secret`` for rfc2136); what is missing comes from the environment, as in the DNS modules.
    """
    environ = os.environ if environ is None else environ
    credentials = credentials or {}
    provider, zone = dns["provider"], dns["zone"]
    name = "dns %s zone %s" % (provider, zone)
    options = dict(dns.get("options") or {})
    keys = ("api_url", "server_id", "server", "port", "tsig_key_name", "tsig_algorithm")
    params = dict((k, options.get(k)) for k in keys)
    params.update(provider=provider, zone=zone, api_token=credentials.get("api_token"), tsig_key_secret=None)
    if provider == "rfc2136":  # the DNS modules' tsig_key_* options and their environment variables
        params["tsig_key_secret"] = credentials.get("tsig_key_secret") or environ.get("RFC2136_TSIG_SECRET")
        params["tsig_key_name"] = (credentials.get("tsig_key_name") or params["tsig_key_name"]
                                   or environ.get("RFC2136_TSIG_KEY_NAME"))
        source = "%s.rfc2136.tsig_key_secret (or RFC2136_TSIG_SECRET)" % CREDENTIALS
    else:
        source = _token_source(provider)
        params["api_token"] = _api_token.lookup(provider, credentials, environ)
    credential = DNS_CREDENTIAL.get(provider, "the provider's API token")
    secrets = [params["api_token"], params["tsig_key_secret"]]
    endpoint = params["api_url"] or ("%s:%s" % (params["server"], params["port"] or 53) if params["server"] else None)
    if provider != "rfc2136" and not params["api_token"]:
        return result(name, False, "no credential: %s is not set" % source, "set %s to %s" % (source, credential),
                      AUTH, endpoint)
    try:
        backend = backend_from_params(params, Deadline(timeout))
        secrets += backend.secrets()
        found = backend.get(fqdn(dns.get("edge_name") or "edge", zone), "A")
    except AutoextenderError as e:
        e = e.redacted(secrets)
        return result(name, False, unreachable(e, endpoint) or e.msg, _api_fix(e.kind, credential, source, endpoint),
                      e.kind, endpoint)
    return result(name, True, "the zone answers (edge set: %s)" % (", ".join(found["values"]) if found else "empty"),
                  endpoint=endpoint)


def check_kubernetes(kubeconfig, timeout=10):
    """The kubeconfig exists and the API server answers ``/version`` with its credentials."""
    name = "kubernetes api"
    path = os.path.expanduser(kubeconfig)
    if not os.path.isfile(path):
        return result(name, False, "kubeconfig %s does not exist" % kubeconfig,
                      "set autoextender_cluster.kubeconfig to the home cluster's kubeconfig "
                      "(`talosctl kubeconfig` writes one)", "validation")
    if _k8s_client.KUBERNETES_IMPORT_ERROR:
        return result(name, False, "cannot import kubernetes", "`pip install kubernetes` in the Python that runs "
                      "the modules", "missing_library")
    endpoint = None
    try:
        client = _k8s_client.api_client(path)
        endpoint = client.configuration.host
        api = _k8s_client.k8s_client.VersionApi(client)
        version = _k8s_client.call("read the version of the API server", api.get_code, _request_timeout=timeout)
    except AutoextenderError as e:
        if e.kind == API and e.details.get("status") in (401, 403):
            fix = "the API server refused the kubeconfig's credentials: write a new one with `talosctl kubeconfig`"
            kind = AUTH
        elif e.kind == VALIDATION:
            fix, kind = "fix the kubeconfig %s (or write a new one with `talosctl kubeconfig`)" % kubeconfig, e.kind
        else:
            fix = ("the API server at the kubeconfig's address does not answer: is the home cluster up and "
                   "reachable from here?")
            kind = e.kind
        return result(name, False, unreachable(e, endpoint) or e.msg, fix, kind, endpoint)
    return result(name, True, "Kubernetes %s answers" % version.git_version, endpoint=endpoint)


def summary(checks):
    """The report the module returns: every check, the failed ones by name, and ``ok``."""
    failed = [c for c in checks if not c["ok"]]
    return {"ok": not failed, "checks": checks, "failed": [c["name"] for c in failed],
            "problems": ["%s: %s" % (c["name"], c["detail"]) for c in failed],
            "fixes": ["%s: %s" % (c["name"], c["fix"]) for c in failed]}
