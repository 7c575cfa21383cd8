"""Find the real tools of the test bed and tell their versions.

Used by the pytest fixtures (skip or fail when a tool is missing) and by
``make tools`` / ``make test`` (one line per tool, and the closing TOOLS line).
"""
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
KNOWN_MISSING = os.path.join(os.path.dirname(HERE), "KNOWN_MISSING_TOOLS")

# name -> (executable, version argv, regexp whose group 1 is the version)
TOOLS = {
    # the default talosctl (the newest Talos line) and the one of the 1.13 line: the collection picks the
    # talosctl of the home cluster's line (plugins/module_utils/_talosctl.py, select_talosctl)
    "talosctl": ("talosctl", ["version", "--client", "--short"], r"Talos (v[\w.\-]+)"),
    "talosctl-1.13": ("talosctl-1.13", ["version", "--client", "--short"], r"Talos (v[\w.\-]+)"),
    # the lab's Talos machine API (hack/talos-api-sim), built by `make tools` from Talos' machinery module
    "talos-api-sim": ("talos-api-sim", ["--version"], r"(v\d[\w.\-]*)"),
    "kube-apiserver": ("kube-apiserver", ["--version"], r"Kubernetes (v[\w.\-]+)"),
    # the lab's control loop, linked in the same `go build` as kube-apiserver
    "kube-controller-manager": ("kube-controller-manager", ["--version"], r"Kubernetes (v[\w.\-]+)"),
    "kube-scheduler": ("kube-scheduler", ["--version"], r"Kubernetes (v[\w.\-]+)"),
    # pods' lifecycle on the lab's Nodes (no kubelet runs there)
    "kwok": ("kwok", ["--version"], r"kwok version (v?[\w.\-]+)"),
    # the edge ingress, one process per lab edge behind its DaemonSet pod
    "traefik": ("traefik", ["version"], r"Version:\s+(v?[\w.\-]+)"),
    # certificates: the real cert-manager controller (hack/gotools/cert-manager-controller) and an ACME server
    "cert-manager": ("cert-manager-controller", ["--version"], r"(v\d[\w.\-]*)"),
    "pebble": ("pebble", ["-version"], r"Pebble version: (v?[\w.\-]+)"),
    "etcd": ("etcd", ["--version"], r"etcd Version: ([\w.\-]+)"),
    "helm": ("helm", ["version", "--short"], r"(v[\w.\-]+)"),
    "external-dns": ("external-dns", ["--version"], r"(v?\d[\w.\-]*)"),
    "pdns": ("pdns_server", ["--version"], r"PowerDNS Authoritative Server ([\w.\-]+)"),
    "bind": ("named", ["-v"], r"BIND ([\w.\-]+)"),
    "wireguard-go": ("wireguard-go", ["--version"], r"wireguard-go (v[\w.\-]+)"),
    "sshd": ("sshd", ["-V"], r"OpenSSH_([\w.\-]+)"),
    "wg": ("wg", ["--version"], r"wireguard-tools (v[\w.\-]+)"),
}


def search_path():
    extra = [os.environ.get("AUTOEXTENDER_TOOLS", os.path.expanduser("~/.cache/talos-autoextender/bin")),
             "/usr/sbin", "/sbin"]
    return os.pathsep.join([os.environ.get("PATH", "")] + extra)


def which(name):
    return shutil.which(TOOLS[name][0] if name in TOOLS else name, path=search_path())


def version(name):
    """The tool's version string, or None when it is missing or does not run."""
    path = which(name)
    return _version_of(path, TOOLS[name]) if path else None


def _version_of(path, tool):
    dummy, argv, pattern = tool
    try:
        out = subprocess.run([path] + argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(pattern, out.stdout + out.stderr)
    return m.group(1) if m else None


def talosctl_for(talos_version):
    """The talosctl of ``talos_version``'s Talos line, found as the collection finds it, or None.

    ``talosctl-<major>.<minor>``, else ``talosctl`` when it is of that line
    (the order of ``select_talosctl``, without its error messages).
    """
    line = ".".join(talos_version.lstrip("v").split(".")[:2])
    for name in ("talosctl-" + line, "talosctl"):
        path = shutil.which(name, path=search_path())
        if path and (_version_of(path, TOOLS["talosctl"]) or "").lstrip("v").startswith(line + "."):
            return path
    return None


def known_missing():
    """Tools listed in tests/KNOWN_MISSING_TOOLS (first word of each line)."""
    if not os.path.exists(KNOWN_MISSING):
        return set()
    with open(KNOWN_MISSING) as f:
        return set(line.split()[0] for line in f if line.strip() and not line.startswith("#"))


def tools_line():
    return "TOOLS: " + " ".join("%s=%s" % (n, version(n) or "MISSING") for n in TOOLS)


if __name__ == "__main__":
    if sys.argv[1:] == ["--line"]:
        print(tools_line())
    else:
        for n in TOOLS:
            print("%-15s %-12s %s" % (n, version(n) or "MISSING", which(n) or "-"))
