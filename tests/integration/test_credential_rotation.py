"""Credential rotation against real servers: PowerDNS (API key), BIND (TSIG, with an overlap window) and the
kube-apiserver (the Secrets and the Deployment the roles wrote), with ExternalDNS run from what the API server
holds after the switch.

Each test revokes the old credential at the server (PowerDNS restarted with only the new key, BIND with only the
new TSIG key) and shows that the automation and ExternalDNS still work: the old credential is proven unused.
The runs are searched for both secrets (the playbook at -vvv with ANSIBLE_LOG_PATH).
"""
import base64
import contextlib
import json
import os
import secrets
import subprocess
import sys
import textwrap

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
import yaml

from tests.conftest import require_tool
from tests.support.ansible import REPO, run_playbook, task_results
from tests.support.fixtures_externaldns import apply_role, deployed_command, out_of_cluster, run_external_dns
from tests.support.process import ManagedProcess, free_port
from tests.support.tools import which

OWNER = "home"
ROLE_PLAYBOOK = textwrap.dedent("""\
    - name: Rotate credentials
      hosts: localhost
      gather_facts: false
      roles:
        - role: talos.autoextender.credential_rotation
""")


def b64(value):
    return base64.b64encode(value.encode()).decode()


def secret_value(kube, namespace, name, key):
    obj = kube.get("/api/v1/namespaces/%s/secrets/%s" % (namespace, name))
    return base64.b64decode(obj["data"][key]).decode()


def create_secret(kube, namespace, name, **data):
    kube.ensure_namespace(namespace)
    kube.request("POST", "/api/v1/namespaces/%s/secrets" % namespace, {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
        "data": dict((k, b64(v)) for k, v in data.items())})


def rotate(tmp_path, role_vars, check=False, verbose=False):
    """Run the role as the playbook does (the secrets from a vars file, as from a vault); ``(rc, output, results)``.

    ``verbose``: -vvv with ANSIBLE_LOG_PATH and the default callback, the output and the log returned together.
    """
    playbook = tmp_path / "rotate.yml"
    playbook.write_text(ROLE_PLAYBOOK)
    if not verbose:
        proc = run_playbook(str(playbook), role_vars, check=check)
        results = task_results(proc) if proc.stdout.strip().startswith("{") else {}
        return proc.returncode, proc.stdout + proc.stderr, dict((k.split(" : ", 1)[-1], v) for k, v in results.items())
    varsfile = tmp_path / "vars.yml"
    fd = os.open(str(varsfile), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(role_vars, f)
    log = tmp_path / "ansible.log"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".cache", "collections"),
               ANSIBLE_LOG_PATH=str(log), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-vvv", "-i", "localhost,", "-c",
            "local", str(playbook), "-e", "@" + str(varsfile)] + (["--check"] if check else [])
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env=env, timeout=600, check=False)
    return proc.returncode, proc.stdout + proc.stderr + log.read_text(), {}


def rotation_of(results):
    return results["Verify the new credentials, switch the home cluster's copies and read them again"]


def external_dns_publishes(kube, namespace, zone, args, env, tmp_path, metrics_port, name="app"):
    """ExternalDNS, run once as the cluster's Deployment describes it (``args``, ``env``), publishes CNAME ``name``."""
    kubeconfig = kube.service_account_kubeconfig(namespace, "external-dns", str(tmp_path / "sa.kubeconfig"))
    apps = namespace + "-apps"
    kube.ensure_namespace(apps)
    kube.request("POST", "/apis/externaldns.k8s.io/v1alpha1/namespaces/%s/dnsendpoints" % apps, {
        "apiVersion": "externaldns.k8s.io/v1alpha1", "kind": "DNSEndpoint", "metadata": {"name": name},
        "spec": {"endpoints": [{"dnsName": name + "." + zone.rstrip("."), "recordType": "CNAME", "recordTTL": 60,
                                "targets": ["edge." + zone.rstrip(".")]}]}})
    log = str(tmp_path / "external-dns.log")
    proc = run_external_dns(out_of_cluster(args, kubeconfig, metrics_port), env, log)
    assert proc.returncode == 0, open(log).read()[-4000:]


# -- PowerDNS: one API key at a time -----------------------------------------------------------------------------
def test_powerdns_key_rotation(tmp_path, kube_cluster, extdns_kube, external_dns_bin, free_metrics_port):
    require_tool("pdns")
    from tests.support.pdns import start_powerdns
    kube = extdns_kube
    suffix = secrets.token_hex(3)
    zone, namespace, cron_ns = "rot-%s.test." % suffix, "rot-extdns-" + suffix, "rot-cron-" + suffix
    old, new, bad = secrets.token_hex(16), secrets.token_hex(16), secrets.token_hex(16)
    workdir = tmp_path / "pdns"
    workdir.mkdir()
    with contextlib.ExitStack() as first:
        pdns = start_powerdns(str(workdir), first, api_key=old)
        pdns.create_zone(zone)
        # What the collection put in the home cluster with the old key: ExternalDNS's Secret (the role) and the
        # CronJob's Secret (docs/operations.md).
        extdns_vars = {
            "external_dns_kubeconfig": kube_cluster.kubeconfig, "external_dns_namespace": namespace,
            "external_dns_provider": "powerdns", "external_dns_zone": zone.rstrip("."), "external_dns_owner_id": OWNER,
            "external_dns_pdns_server": pdns.api_url, "external_dns_pdns_api_key": old, "external_dns_wait": False}
        proc, dummy = apply_role(tmp_path, extdns_vars)
        assert proc.returncode == 0, proc.stdout[-4000:]
        create_secret(kube, cron_ns, "autoextender-credentials", PDNS_API_KEY=old, HCLOUD_TOKEN="unrelated-token")
    # The server side of the rotation: PowerDNS takes one key, so it now accepts only the new one.
    with contextlib.ExitStack() as second:
        pdns = start_powerdns(str(workdir), second, api_key=new)
        role_vars = {
            "credential_rotation_credentials": {"powerdns": {"api_token": old}},
            "credential_rotation_new": {"powerdns": {"api_token": new}},
            "credential_rotation_dns": {"provider": "powerdns", "zone": zone, "options": {"api_url": pdns.api_url}},
            "credential_rotation_kubeconfig": kube_cluster.kubeconfig,
            "credential_rotation_external_dns_namespace": namespace,
            "credential_rotation_cronjob_namespace": cron_ns,
            "credential_rotation_wait": False,  # no kubelet in this API server: the pod never runs
        }

        # A new key the server does not accept stops the run before anything switches.
        rc, out, dummy = rotate(tmp_path, dict(role_vars, credential_rotation_new={"powerdns": {"api_token": bad}}))
        assert rc != 0 and "nothing was switched" in out and bad not in out and old not in out
        assert secret_value(kube, namespace, "external-dns-credentials", "pdns-api-key") == old

        # Check mode: the plan, nothing written.
        rc, out, results = rotate(tmp_path, role_vars, check=True)
        assert rc == 0, out[-4000:]
        res = rotation_of(results)
        assert res["changed"] is True and res["restarted"] == ["%s/external-dns" % namespace]
        assert sorted(res["rotation"][0]["switched"]) == sorted([
            "Secret %s/external-dns-credentials data.pdns-api-key" % namespace,
            "Secret %s/autoextender-credentials data.PDNS_API_KEY" % cron_ns])
        assert secret_value(kube, namespace, "external-dns-credentials", "pdns-api-key") == old
        assert secret_value(kube, cron_ns, "autoextender-credentials", "PDNS_API_KEY") == old

        # The rotation, at -vvv with a log: neither key appears anywhere.
        deployment = kube.get("/apis/apps/v1/namespaces/%s/deployments/external-dns" % namespace)
        rc, out, dummy = rotate(tmp_path, role_vars, verbose=True)
        assert rc == 0, out[-6000:]
        assert old not in out and new not in out and b64(old) not in out and b64(new) not in out
        assert "revoke it at the provider" in out
        assert secret_value(kube, namespace, "external-dns-credentials", "pdns-api-key") == new
        assert secret_value(kube, cron_ns, "autoextender-credentials", "PDNS_API_KEY") == new
        assert secret_value(kube, cron_ns, "autoextender-credentials", "HCLOUD_TOKEN") == "unrelated-token"
        rolled = kube.get("/apis/apps/v1/namespaces/%s/deployments/external-dns" % namespace)
        assert rolled["metadata"]["generation"] == deployment["metadata"]["generation"] + 1
        assert "autoextender.io/credentials-rotated" in rolled["spec"]["template"]["metadata"]["annotations"]

        # A second run switches nothing.
        rc, out, results = rotate(tmp_path, role_vars)
        assert rc == 0, out[-4000:]
        res = rotation_of(results)
        assert res["changed"] is False and res["restarted"] == [] and res["rotation"][0]["switched"] == []
        assert res["rotation"][0]["old_in_use"] == []

        # The old key is revoked at the server; ExternalDNS, as the API server now describes it, still works.
        args, env, dummy = deployed_command(kube, namespace, "external-dns")
        assert env == {"EXTERNAL_DNS_PDNS_API_KEY": new}
        # (The restarted server listens on another port; the address is not what rotates.)
        args = [a if not a.startswith("--pdns-server=") else "--pdns-server=" + pdns.api_url for a in args]
        external_dns_publishes(kube, namespace, zone, args, env, tmp_path, free_metrics_port)
        resp = dns.query.udp(dns.message.make_query("app." + zone, "CNAME"), pdns.host, port=pdns.dns_port, timeout=3)
        assert [rr.to_text() for rrset in resp.answer for rr in rrset] == ["edge." + zone]

        # The inventory not updated yet: the role refuses to write the retired key back, and changes nothing.
        extdns_vars["external_dns_pdns_server"] = pdns.api_url
        path = "/api/v1/namespaces/%s/secrets/external-dns-credentials" % namespace
        before = kube.get(path)
        proc, dummy = refused_role(tmp_path, apply_role, extdns_vars, (old, new), "pdns-api-key")
        assert kube.get(path)["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
        assert secret_value(kube, namespace, "external-dns-credentials", "pdns-api-key") == new
        # With the new key in the inventory, the role runs as before.
        proc, dummy = apply_role(tmp_path, dict(extdns_vars, external_dns_pdns_api_key=new))
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert secret_value(kube, namespace, "external-dns-credentials", "pdns-api-key") == new


def refused_role(tmp_path, apply, role_vars, values, key):
    """Run a role with a credential a rotation retired: it must fail naming the key and the rotation, never a
    value; ``(proc, results)``."""
    proc, results = apply(tmp_path, role_vars)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "the credential that rotate_credentials.yml retired on" in text, text[-4000:]
    assert key in text and "nothing was changed" in text
    for value in values:
        assert value not in text and b64(value) not in text
    return proc, results


CERT_MANAGER_PLAYBOOK = """\
- name: Apply the cert_manager role
  hosts: localhost
  gather_facts: false
  roles:
    - role: talos.autoextender.cert_manager
"""


def apply_cert_manager(tmp_path, role_vars):
    playbook = tmp_path / "cert_manager.yml"
    playbook.write_text(CERT_MANAGER_PLAYBOOK)
    proc = run_playbook(str(playbook), role_vars)
    return proc, None


# -- BIND: TSIG keys with an overlap window ----------------------------------------------------------------------
def start_named(workdir, stack, port, zone, keys):
    """A real BIND serving ``zone`` on ``port`` whose updates any of ``keys`` ({name: secret}) may sign; started
    again on the same ``workdir`` with other keys, it keeps the zone (its journal)."""
    zone_file = os.path.join(workdir, "db.zone")
    if not os.path.exists(zone_file):
        with open(zone_file, "w") as f:
            f.write("$TTL 60\n@ IN SOA ns1.%s hostmaster.%s 1 3600 600 86400 60\n"
                    "@ IN NS ns1.%s\nns1 IN A 127.0.0.1\n" % (zone, zone, zone))
    conf = os.path.join(workdir, "named.conf")
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        for name, secret in keys.items():
            f.write('key "%s" { algorithm hmac-sha256; secret "%s"; };\n' % (name, secret))
        f.write(textwrap.dedent("""\
            options { directory "%(dir)s"; pid-file "%(dir)s/named.pid"; listen-on port %(port)d { 127.0.0.1; };
                listen-on-v6 { none; }; recursion no; notify no; dnssec-validation no;
                session-keyfile "%(dir)s/session.key"; };
            controls { };
            zone "%(zone)s" { type primary; file "%(file)s"; allow-update { %(keys)s }; allow-transfer { %(keys)s }; };
            """) % {"dir": workdir, "port": port, "zone": zone, "file": zone_file,
                    "keys": " ".join('key "%s";' % name for name in keys)})
    log = os.path.join(workdir, "named.log")
    proc = stack.enter_context(ManagedProcess("named", [which("bind"), "-g", "-c", conf, "-n", "1"], log))
    proc.wait_ready(lambda: bool(dns.query.udp(dns.message.make_query(zone, "SOA"), "127.0.0.1", port=port,
                                               timeout=1).answer), timeout=30)
    return log


def signed_update(zone, port, key_name, secret, name, value):
    """The rcode of an update signed with the key (BADKEY raises: an unknown key)."""
    import dns.tsigkeyring
    import dns.update
    update = dns.update.UpdateMessage(zone, keyring=dns.tsigkeyring.from_text({key_name: secret}), keyname=key_name,
                                      keyalgorithm="hmac-sha256")
    update.replace(name, 60, "TXT", '"%s"' % value)
    try:
        return dns.rcode.to_text(dns.query.tcp(update, "127.0.0.1", port=port, timeout=5).rcode())
    except dns.exception.DNSException as e:
        return type(e).__name__


def read_from(path, offset):
    with open(path) as f:
        f.seek(offset)
        return f.read()


def test_tsig_rotation_with_an_overlap_window(tmp_path, kube_cluster, extdns_kube, external_dns_bin,
                                              free_metrics_port):
    require_tool("bind")
    kube = extdns_kube
    suffix = secrets.token_hex(3)
    zone, namespace = "rot-%s.test." % suffix, "rot-extdns-" + suffix
    dns01_ns, cron_ns = "rot-cm-" + suffix, "rot-cron-" + suffix
    old_name, new_name = "old-%s." % suffix, "new-%s." % suffix
    old, new = b64(secrets.token_hex(24)), b64(secrets.token_hex(24))
    port = free_port()
    workdir = tmp_path / "bind"
    workdir.mkdir()
    options = {"server": "127.0.0.1", "port": port, "tsig_key_name": old_name}
    with contextlib.ExitStack() as overlap:
        # Step 1 of the docs: the new key is added on the server next to the old one (both valid).
        log = start_named(str(workdir), overlap, port, zone, {old_name: old, new_name: new})
        proc, dummy = apply_role(tmp_path, {
            "external_dns_kubeconfig": kube_cluster.kubeconfig, "external_dns_namespace": namespace,
            "external_dns_provider": "rfc2136", "external_dns_zone": zone.rstrip("."), "external_dns_owner_id": OWNER,
            "external_dns_rfc2136_host": "127.0.0.1", "external_dns_rfc2136_port": port,
            "external_dns_rfc2136_tsig_keyname": old_name, "external_dns_rfc2136_tsig_secret": old,
            "external_dns_wait": False})
        assert proc.returncode == 0, proc.stdout[-4000:]
        # cert-manager's DNS-01 Secret, as the cert_manager role writes it, and the CronJob's Secret.
        create_secret(kube, dns01_ns, "autoextender-dns01", **{"tsig-secret": old})
        create_secret(kube, cron_ns, "autoextender-credentials", RFC2136_TSIG_KEY_NAME=old_name,
                      RFC2136_TSIG_SECRET=old)
        role_vars = {
            "credential_rotation_credentials": {"rfc2136": {"tsig_key_name": old_name, "tsig_key_secret": old}},
            "credential_rotation_new": {"rfc2136": {"tsig_key_name": new_name, "tsig_key_secret": new}},
            "credential_rotation_dns": {"provider": "rfc2136", "zone": zone, "options": options},
            "credential_rotation_kubeconfig": kube_cluster.kubeconfig,
            "credential_rotation_external_dns_namespace": namespace,
            "credential_rotation_cert_manager_namespace": dns01_ns,
            "credential_rotation_cronjob_namespace": cron_ns,
            "credential_rotation_wait": False,
        }
        rc, out, results = rotate(tmp_path, role_vars, check=True)
        assert rc == 0, out[-4000:]
        res = rotation_of(results)
        assert res["changed"] is True and len(res["rotation"][0]["switched"]) == 5, res["rotation"]
        assert secret_value(kube, namespace, "external-dns-credentials", "tsig-secret") == old

        switch_at = os.path.getsize(log)
        rc, out, dummy = rotate(tmp_path, role_vars, verbose=True)
        assert rc == 0, out[-6000:]
        for value in (old, new, secrets_of(old), secrets_of(new)):
            assert value not in out
        after = read_from(log, switch_at)
        # The verification: an update signed with the new key (the throwaway TXT record, then its removal).
        assert "/key %s" % new_name.rstrip(".") in after, after[-3000:]
        assert secret_value(kube, namespace, "external-dns-credentials", "tsig-secret") == new
        assert secret_value(kube, dns01_ns, "autoextender-dns01", "tsig-secret") == new
        assert secret_value(kube, cron_ns, "autoextender-credentials", "RFC2136_TSIG_SECRET") == new
        assert secret_value(kube, cron_ns, "autoextender-credentials", "RFC2136_TSIG_KEY_NAME") == new_name
        args, env, dummy = deployed_command(kube, namespace, "external-dns")
        assert "--rfc2136-tsig-keyname=" + new_name in args and env == {"EXTERNAL_DNS_RFC2136_TSIG_SECRET": new}

        rc, out, results = rotate(tmp_path, role_vars)
        assert rc == 0 and rotation_of(results)["changed"] is False, out[-4000:]

        # The cert_manager role with the inventory not updated yet refuses before it changes anything; with the
        # new key it passes that check (and stops at the next one: this API server has no cert-manager).
        cm_vars = {"cert_manager_kubeconfig": kube_cluster.kubeconfig, "cert_manager_namespace": dns01_ns,
                   "cert_manager_install": False, "cert_manager_solver": "dns01", "cert_manager_dns_provider": "rfc2136",
                   "cert_manager_dns_zone": zone.rstrip("."), "cert_manager_acme_email": "ops@example.org",
                   "cert_manager_issuer_prefix": "rot-" + suffix,
                   "cert_manager_dns01": {"nameserver": "127.0.0.1:%d" % port, "tsig_key_name": new_name},
                   "cert_manager_dns01_secret_value": old}
        refused_role(tmp_path, apply_cert_manager, cm_vars, (old, new), "autoextender-dns01")
        assert secret_value(kube, dns01_ns, "autoextender-dns01", "tsig-secret") == new
        proc, dummy = apply_cert_manager(tmp_path, dict(cm_vars, cert_manager_dns01_secret_value=new))
        text = proc.stdout + proc.stderr
        assert "retired on" not in text and (proc.returncode == 0 or "cert-manager is not installed" in text), text[-4000:]

        # Both keys are still valid; ExternalDNS, as the API server describes it now, signs with the new one.
        external_dns_publishes(kube, namespace, zone, args, env, tmp_path, free_metrics_port)
        since_switch = read_from(log, switch_at)
        assert "updating zone" in since_switch, since_switch[-3000:]
        # BIND's log since the switch: every signed request names the new key, none the old one.
        assert old_name.rstrip(".") not in since_switch, since_switch[-3000:]

    # Step 3 of the docs: the old key is removed from the server.
    with contextlib.ExitStack() as revoked:
        log = start_named(str(workdir), revoked, port, zone, {new_name: new})
        assert signed_update(zone, port, old_name, old, "probe." + zone, "x") != "NOERROR"  # revoked indeed
        external_dns_publishes(kube, namespace, zone, args, env, tmp_path, free_metrics_port, name="www")
        for name in ("app.", "www."):
            resp = dns.query.udp(dns.message.make_query(name + zone, "CNAME"), "127.0.0.1", port=port, timeout=3)
            assert [rr.to_text() for rrset in resp.answer for rr in rrset] == ["edge." + zone], name
        # The automation, with the new key only: a rotation run (verify = a signed update) still passes.
        role_vars["credential_rotation_dns"]["options"] = dict(options, tsig_key_name=new_name)
        rc, out, results = rotate(tmp_path, role_vars)
        assert rc == 0 and rotation_of(results)["rotation"][0]["old_in_use"] == [], out[-4000:]


def secrets_of(value):
    """The base64 of a secret as a Secret's data holds it."""
    return b64(value)


@pytest.mark.parametrize("new", [{"powerdns": {"api_key": "a-value-to-hide-0123"}}, {"powerdns": {"api_token": 5}}, {}])
def test_bad_new_credentials_name_the_key(tmp_path, new):
    rc, out, dummy = rotate(tmp_path, {"credential_rotation_new": new, "credential_rotation_kubeconfig": "",
                                       "credential_rotation_dns": {"provider": "powerdns", "zone": "x.test"}})
    assert rc != 0
    assert "autoextender_credentials_new" in out
    assert "a-value-to-hide-0123" not in out


# -- Talos: the talosconfig client certificate the automation uses -------------------------------------------------
TALOS_PLAYBOOK = textwrap.dedent("""\
    - name: Re-issue the client certificate
      hosts: localhost
      gather_facts: false
      tasks:
        - name: Client certificate
          talos.autoextender.talos_client_config:
            talosconfig: "{{ path }}"
            secrets_bundle: "{{ bundle }}"
            max_age: "{{ max_age }}"
""")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A private lab (hack/lab.py up): its home node is the Talos API simulator that only the cluster's
    talosconfig reaches over mutual TLS."""
    require_tool("talosctl", "kube-apiserver", "etcd", "pdns")
    lab_dir = str(tmp_path_factory.mktemp("rotation-lab") / "lab")
    hack = [sys.executable, os.path.join(REPO, "hack", "lab.py")]
    env = dict(os.environ, AUTOEXTENDER_LAB_DIR=lab_dir)
    up = subprocess.run(hack + ["up", "--dir", lab_dir], capture_output=True, text=True, cwd=REPO, env=env,
                        timeout=900, check=False)
    try:
        assert up.returncode == 0, "hack/lab.py up failed:\n%s%s" % (up.stdout, up.stderr)
        with open(os.path.join(lab_dir, "lab.json")) as f:
            yield json.load(f)
    finally:
        subprocess.run(hack + ["down", "--dir", lab_dir, "--purge"], capture_output=True, cwd=REPO, env=env,
                       timeout=300, check=False)


def talos_version_ok(talosconfig):
    proc = subprocess.run([which("talosctl"), "--talosconfig", talosconfig, "version"], capture_output=True,
                          text=True, timeout=60, check=False)
    return proc.returncode == 0, proc.stdout + proc.stderr


def test_talosconfig_client_certificate_is_re_issued_from_the_cluster_ca(tmp_path, lab):
    path = str(tmp_path / "talosconfig")
    with open(lab["home"]["talosconfig"]) as f:
        original = f.read()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(original)
    old = yaml.safe_load(original)
    old_ctx = old["contexts"][old["context"]]
    playbook = tmp_path / "talos.yml"
    playbook.write_text(TALOS_PLAYBOOK)
    args = {"path": path, "bundle": lab["home"]["secrets"], "max_age": 0}

    proc = run_playbook(str(playbook), args, check=True)
    res = task_results(proc)["Client certificate"]
    assert res["changed"] is True and res["talos_client_config"]["new"] is None
    assert open(path).read() == original

    proc = run_playbook(str(playbook), args)
    res = task_results(proc)["Client certificate"]
    assert res["changed"] is True and res["talos_client_config"]["verified"] is True, proc.stdout[-3000:]
    new = yaml.safe_load(open(path).read())
    new_ctx = new["contexts"][new["context"]]
    assert new_ctx["crt"] != old_ctx["crt"] and new_ctx["key"] != old_ctx["key"]
    assert {k: v for k, v in new_ctx.items() if k not in ("crt", "key")} == \
        {k: v for k, v in old_ctx.items() if k not in ("crt", "key")}
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert res["talos_client_config"]["old"]["serial"] != res["talos_client_config"]["new"]["serial"]
    assert res["talos_client_config"]["old"]["expires"]
    for value in (old_ctx["key"], new_ctx["key"], base64.b64decode(new_ctx["key"]).decode()):
        assert value not in proc.stdout + proc.stderr
    ok, out = talos_version_ok(path)
    assert ok, out  # the Talos API accepts the new certificate

    # Idempotent: a certificate younger than max_age hours is kept.
    proc = run_playbook(str(playbook), dict(args, max_age=24))
    assert task_results(proc)["Client certificate"]["changed"] is False
    assert yaml.safe_load(open(path).read()) == new

    # A bundle of another cluster: refused before anything is issued, the file untouched.
    other = str(tmp_path / "other-secrets.yaml")
    subprocess.run([which("talosctl"), "gen", "secrets", "-o", other], capture_output=True, check=True, timeout=60)
    proc = run_playbook(str(playbook), dict(args, bundle=other))
    res = task_results(proc)["Client certificate"]
    assert res.get("failed") and "is not the OS CA of the secrets bundle" in res["msg"]
    assert yaml.safe_load(open(path).read()) == new
