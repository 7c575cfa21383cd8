# -*- coding: utf-8 -*-
# Copyright: talos-autoextender contributors
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""A Kubernetes API client from a kubeconfig, and API errors as AutoextenderError.

Modules that need more than ``kubernetes.core`` offers (node drain through the
eviction API) talk to the API server through this file only. Every call goes
through ``call()``, which names what failed ("Failed to <verb> <thing>") and
keeps the API's own message, status and reason; a 404 is ``None`` (or the
``not_found`` value the caller gives) instead of an error.
"""

from __future__ import annotations

import json
import os
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible_collections.talos.autoextender.plugins.module_utils._errors import AutoextenderError
from ansible_collections.talos.autoextender.plugins.module_utils._failure_kinds import API, CONNECTION, VALIDATION

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException
    from urllib3.exceptions import HTTPError as Urllib3Error
except ImportError:
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()
    k8s_client = k8s_config = None
    ApiException = ConfigException = Urllib3Error = None
else:
    KUBERNETES_IMPORT_ERROR = None

# Connection options of our own Kubernetes modules (the same names and
# environment variables as kubernetes.core, so module_defaults can share them).
K8S_ARGUMENT_SPEC = dict(
    kubeconfig=dict(type="path", fallback=(env_fallback, ["K8S_AUTH_KUBECONFIG"])),
    context=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_CONTEXT"])),
)

NOT_FOUND = object()


def k8s_argument_spec(**extra):
    """A copy of the connection options plus the module's own ``extra`` options."""
    spec = dict((k, dict(v)) for k, v in K8S_ARGUMENT_SPEC.items())
    spec.update(extra)
    return spec


def require_kubernetes(module):
    """Fail the module clearly when the ``kubernetes`` Python library is missing."""
    if KUBERNETES_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)


def api_message(exc):
    """The API server's own message from an ApiException (its Status body), else its reason."""
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        body = {}
    return body.get("message") or "%s %s" % (exc.status, exc.reason)


def api_causes(exc):
    """``details.causes[].message`` of a Status body (a PDB names itself there)."""
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        return []
    return [c.get("message") for c in (body.get("details") or {}).get("causes") or [] if c.get("message")]


def api_error(what, exc):
    """The AutoextenderError for a failed call: an ApiException, or a connection error."""
    if ApiException is not None and isinstance(exc, ApiException):
        return AutoextenderError("Failed to %s: %s" % (what, api_message(exc)), kind=API,
                                 details={"status": exc.status, "reason": exc.reason, "causes": api_causes(exc)})
    return AutoextenderError("Failed to %s: cannot reach the API server: %s" % (what, exc), kind=CONNECTION)


def call(what, fn, *args, **kwargs):
    """Run ``fn``; a 404 returns ``not_found`` (default None); other failures raise AutoextenderError."""
    not_found = kwargs.pop("not_found", None)
    try:
        return fn(*args, **kwargs)
    except ApiException as e:
        if e.status == 404 and not_found is not NOT_FOUND:
            return not_found
        raise api_error(what, e)
    except (Urllib3Error, OSError) as e:
        raise api_error(what, e)


def api_client(kubeconfig=None, context=None):
    """An ApiClient from ``kubeconfig`` (else $KUBECONFIG or ~/.kube/config), or in-cluster config."""
    try:
        if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST") and not os.path.exists(
                os.path.expanduser(k8s_config.KUBE_CONFIG_DEFAULT_LOCATION)):
            configuration = k8s_client.Configuration()
            k8s_config.load_incluster_config(client_configuration=configuration)
            return k8s_client.ApiClient(configuration)
        return k8s_config.new_client_from_config(config_file=kubeconfig, context=context)
    except (ConfigException, OSError, ValueError, TypeError) as e:
        raise AutoextenderError("Failed to load the kubeconfig %s: %s" % (kubeconfig or "(default)", e),
                                kind=VALIDATION, details={"kubeconfig": kubeconfig, "context": context})


def core_api(module):
    """CoreV1Api for the module's ``kubeconfig`` and ``context`` options."""
    return k8s_client.CoreV1Api(api_client(module.params.get("kubeconfig"), module.params.get("context")))


def policy_api(core):
    """PolicyV1Api sharing ``core``'s connection."""
    return k8s_client.PolicyV1Api(core.api_client)


def to_dict(core, obj):
    """A model object as the plain dict the API server sent (camelCase keys)."""
    return core.api_client.sanitize_for_serialization(obj)
