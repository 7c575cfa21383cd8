#!/usr/bin/env python3
"""Build the Go tools the test bed needs, at pinned versions, into a cache.

Each tool is built from a throwaway wrapper module that requires the tool's
module and repeats its ``replace`` lines, because ``go install mod@version``
refuses modules with replace directives. Local (``./...``) replaces in the
upstream go.mod point at nested modules of the same release; the wrapper pins
those to their published versions instead.

Idempotent: a tool whose versioned binary exists in the cache is not rebuilt.
Prints one line per tool: ``<name> <version> <path>`` or ``<name> FAILED``.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

TOOLS = {
    "talosctl": {
        # The default talosctl: the newest Talos 1.14 release the module proxy
        # serves (v1.14.2 and later are refused). The collection picks it for
        # home clusters on Talos 1.14 (plugins/module_utils/_talosctl.py).
        "module": "github.com/siderolabs/talos",
        "version": "v1.14.1",
        "package": "github.com/siderolabs/talos/cmd/talosctl",
        # ./pkg/machinery is tagged pkg/machinery/v1.14.1 on the proxy.
        "local_version": "v1.14.1",
        # The proxy serves go-kubernetes, containerd and etcdutl at the versions
        # v1.14.1 pins (no dropped files); it refuses these three, which stand in
        # (see hack/gotools/go-kubernetes/README.md): cosi runtime one patch lower,
        # rtnetlink's next release (RouteVia, which `talosctl cluster` BGP code
        # needs), upstream ethtool instead of Sidero's fork (machined code only).
        "substitutes": [
            "github.com/cosi-project/runtime => github.com/cosi-project/runtime v1.16.2",
            "github.com/jsimonetti/rtnetlink/v2 => github.com/jsimonetti/rtnetlink/v2 v2.3.0",
            "github.com/mdlayher/ethtool => github.com/mdlayher/ethtool v0.6.1",
        ],
        "ldflags": [
            "-X github.com/siderolabs/talos/pkg/machinery/version.Name=Talos",
            "-X github.com/siderolabs/talos/pkg/machinery/version.Tag=v1.14.1",
            "-X github.com/siderolabs/talos/pkg/machinery/version.SHA=2f86b9d2",
        ],
    },
    "talosctl-1.13": {
        # The talosctl for home clusters on Talos 1.13: the versioned file is
        # talosctl-v1.13.9, the name link talosctl-1.13.
        "file": "talosctl",
        "module": "github.com/siderolabs/talos",
        "version": "v1.13.9",
        "package": "github.com/siderolabs/talos/cmd/talosctl",
        # ./pkg/machinery is tagged pkg/machinery/v1.13.9 on the proxy.
        "local_version": "v1.13.9",
        # Modules the reachable proxy refuses (403) and what stands in for them;
        # see hack/gotools/go-kubernetes/README.md.
        "drop_files": ["cmd/talosctl/cmd/talos/upgrade-k8s.go"],
        "substitutes": [
            "github.com/siderolabs/go-kubernetes => {hack}/gotools/go-kubernetes",
            "github.com/containerd/containerd/v2 => github.com/containerd/containerd/v2 v2.2.3",
            "go.etcd.io/etcd/etcdutl/v3 => go.etcd.io/etcd/etcdutl/v3 v3.6.14",
        ],
        "ldflags": [
            "-X github.com/siderolabs/talos/pkg/machinery/version.Name=Talos",
            "-X github.com/siderolabs/talos/pkg/machinery/version.Tag=v1.13.9",
            "-X github.com/siderolabs/talos/pkg/machinery/version.SHA=3ebd10a7",
        ],
    },
    "talos-api-sim": {
        # The lab's Talos node API: our own module (hack/talos-api-sim) on Talos'
        # machinery; "version" is the machinery release it is built on. The cached
        # binary's name carries a hash of the sources, so an edit rebuilds it.
        "local": "talos-api-sim",
        "version": "v1.14.1",
    },
    "kubernetes": {
        # The Kubernetes version Talos v1.14.1 installs by default
        # (constants.DefaultKubernetesVersion of its pkg/machinery). One `go build`
        # links the control plane binaries the lab runs, and the tools on the same
        # k8s.io module graph (kwok, the cert-manager controller) join it: their
        # shared packages compile once.
        "module": "k8s.io/kubernetes",
        "version": "v1.37.0",
        "binaries": {
            "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
            "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
            "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
            "kwok": "sigs.k8s.io/kwok/cmd/kwok",
        },
        "requires": ["sigs.k8s.io/kwok v0.8.0", "github.com/cert-manager/cert-manager v1.21.1"],
        "local_packages": {"cert-manager-controller": "gotools/cert-manager-controller"},
        # ./staging/src/k8s.io/* are published as k8s.io/* v0.<minor>.<patch>.
        "local_version": "v0.37.0",
        "ldflags": [
            "-X k8s.io/component-base/version.gitVersion=v1.37.0",
            "-X k8s.io/component-base/version.gitMajor=1",
            "-X k8s.io/component-base/version.gitMinor=37",
            "-X k8s.io/component-base/version.gitTreeState=clean",
        ],
    },
    "traefik": {
        # The newest Traefik whose whole graph the module proxy serves: 3.7.x needs
        # github.com/traefik/traefik/dynamic/ext, which it refuses; v3.6.26 is refused.
        "module": "github.com/traefik/traefik/v3",
        "version": "v3.6.25",
        "package": "github.com/traefik/traefik/v3/cmd/traefik",
        "ldflags": ["-X github.com/traefik/traefik/v3/pkg/version.Version=v3.6.25"],
    },
    "pebble": {
        # Let's Encrypt's ACME test server: the lab's certificate authority.
        "module": "github.com/letsencrypt/pebble/v2",
        "version": "v2.10.3",
        "package": "github.com/letsencrypt/pebble/v2/cmd/pebble",
        "ldflags": ["-X main.version=v2.10.3"],
    },
    "helm": {
        "module": "helm.sh/helm/v4",
        "version": "v4.3.1",
        "package": "helm.sh/helm/v4/cmd/helm",
        "ldflags": ["-X helm.sh/helm/v4/internal/version.version=v4.3.1"],
    },
    "external-dns": {
        "module": "sigs.k8s.io/external-dns",
        "version": "v0.21.0",
        "package": "sigs.k8s.io/external-dns",
        "ldflags": ["-X sigs.k8s.io/external-dns/pkg/apis/externaldns.Version=v0.21.0"],
    },
}

HACK = os.path.dirname(os.path.abspath(__file__))
REPLACE_RE = re.compile(r"^\s*(\S+)(?:\s+(\S+))?\s*=>\s*(\S+)(?:\s+(\S+))?\s*$")


def go(args, cwd, env):
    return subprocess.run(["go"] + args, cwd=cwd, env=env, check=True,
                          capture_output=True, text=True)


def wrapper_gomod(upstream, spec):
    """The upstream go.mod, renamed, with local replaces pinned and the module required.

    Keeping upstream's own requires makes the build resolve the very versions
    the release was tested with, without a `go mod tidy` over the whole graph.
    """
    out, in_block = [], False
    for line in upstream.splitlines():
        code = line.split("//", 1)[0].strip()
        if code.startswith("module "):
            out.append("module wrapper")
            continue
        if code.startswith("replace ("):
            in_block = True
            out.append(line)
            continue
        if in_block and code == ")":
            in_block = False
        if (in_block or code.startswith("replace ")) and "=>" in code:
            m = REPLACE_RE.match(code[len("replace "):] if code.startswith("replace ") else code)
            if m and m.group(3).startswith("."):
                if not spec.get("local_version"):
                    raise RuntimeError("local replace %r without local_version" % code)
                line = "%s%s => %s %s" % ("replace " if code.startswith("replace ") else "\t",
                                           m.group(1), m.group(1), spec["local_version"])
        out.append(line)
    out.append("\nrequire %s %s\n" % (spec["module"], spec["version"]))
    for extra in spec.get("requires", []):
        out.append("require %s\n" % extra)
    return "\n".join(out)


def upstream_gosum(info):
    path = os.path.join(info["Dir"], "go.sum")
    if not os.path.exists(path):
        return ""
    with open(path) as f:
        return f.read()


def remove_tree(path):
    """rmtree that also removes the read-only copies of module-cache files."""
    def make_writable(func, target, _exc):
        os.chmod(os.path.dirname(target), 0o755)
        os.chmod(target, 0o755)
        func(target)
    shutil.rmtree(path, onerror=make_writable)


def source_hash(src):
    """A short hash of a local module's go.mod, go.sum and Go files."""
    digest = hashlib.sha256()
    for entry in sorted(os.listdir(src)):
        if entry.endswith(".go") or entry in ("go.mod", "go.sum"):
            with open(os.path.join(src, entry), "rb") as f:
                digest.update(entry.encode() + b"\0" + f.read())
    return digest.hexdigest()[:10]


def build_local(name, spec, cache, env, log):
    """A tool of this repository (hack/<local>): its own go.mod and go.sum pin its graph."""
    src = os.path.join(HACK, spec["local"])
    dest = os.path.join(cache, "%s-%s-%s" % (name, spec["version"], source_hash(src)))
    link = os.path.join(cache, name)
    if not os.path.exists(dest):
        try:
            go(["build", "-trimpath", "-ldflags", "-s -w", "-o", dest + ".tmp", "."], src, env)
            os.rename(dest + ".tmp", dest)
        except subprocess.CalledProcessError as e:
            log.write("== %s: %s\n%s\n%s\n" % (name, " ".join(e.cmd), e.stdout, e.stderr))
            return None
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(os.path.basename(dest), link)
    return dest


def binaries(spec):
    """{binary name: package} the spec builds (one binary unless it names several).

    A local package (hack/<dir>, a main of this repository over the group's
    modules) is copied into the wrapper module as ``wrapper/<binary name>``.
    """
    out = dict(spec.get("binaries") or {None: spec["package"]})
    out.update(("%s" % name, "wrapper/%s" % name) for name in spec.get("local_packages", {}))
    return out


def group_key(spec):
    """The cache name's suffix of a group build: a hash of what it links, so adding a binary relinks."""
    text = json.dumps([spec["version"], spec.get("requires", []), sorted(binaries(spec).items()),
                       spec.get("ldflags", []),
                       [source_hash(os.path.join(HACK, d)) for _, d in sorted(spec.get("local_packages", {}).items())]])
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def link(cache, name, target):
    path = os.path.join(cache, name)
    if os.path.lexists(path):
        os.unlink(path)
    os.symlink(target, path)


def build(name, spec, cache, env, log):
    if spec.get("local"):
        return build_local(name, spec, cache, env, log)
    group = "binaries" in spec
    dest = os.path.join(cache, "%s-%s" % (spec.get("file", name), spec["version"])
                        + ("-" + group_key(spec) if group else ""))
    if not os.path.exists(dest):
        work = tempfile.mkdtemp(prefix="wrap-%s-" % name)
        try:
            info = json.loads(go(["mod", "download", "-json", "%s@%s" % (spec["module"], spec["version"])],
                                 work, env).stdout)
            with open(info["GoMod"]) as f:
                upstream = f.read()
            gomod = wrapper_gomod(upstream, spec)
            if spec.get("drop_files"):
                # Build from a copy of the released source without these files.
                src = os.path.join(work, "src")
                shutil.copytree(info["Dir"], src)
                for rel in spec["drop_files"]:
                    os.chmod(os.path.dirname(os.path.join(src, rel)), 0o755)
                    os.unlink(os.path.join(src, rel))
                gomod += "replace %s => ./src\n" % spec["module"]
            for sub in spec.get("substitutes", []):
                old = sub.split("=>")[0].strip()
                gomod = "\n".join(l for l in gomod.splitlines()
                                   if not re.match(r"^\s*(replace\s+)?%s\s*(v\S+\s*)?=>" % re.escape(old), l))
                gomod += "\nreplace %s\n" % sub.format(hack=HACK)
            with open(os.path.join(work, "go.mod"), "w") as f:
                f.write(gomod)
            # The upstream go.sum already covers its graph; add the module itself.
            with open(os.path.join(work, "go.sum"), "w") as f:
                f.write(upstream_gosum(info))
                f.write("%s %s %s\n%s %s/go.mod %s\n" % (
                    spec["module"], spec["version"], info["Sum"],
                    spec["module"], spec["version"], info["GoModSum"]))
            for binary, rel in spec.get("local_packages", {}).items():
                shutil.copytree(os.path.join(HACK, rel), os.path.join(work, binary),
                                ignore=shutil.ignore_patterns("*.md", "*_test.go"))
            out = dest + ".tmp"
            if group:  # `go build -o DIR/` writes one binary per main package, named after its path
                os.makedirs(out, exist_ok=True)
                out += "/"
            go(["build", "-trimpath", "-ldflags", " ".join(["-s", "-w"] + spec.get("ldflags", [])),
                "-o", out] + sorted(binaries(spec).values()), work, env)
            os.rename(dest + ".tmp", dest)
        except subprocess.CalledProcessError as e:
            log.write("== %s: %s\n%s\n%s\n" % (name, " ".join(e.cmd), e.stdout, e.stderr))
            return None
        finally:
            remove_tree(work)
    if not group:
        link(cache, name, os.path.basename(dest))
        return dest
    for binary, package in binaries(spec).items():
        link(cache, binary, os.path.join(os.path.basename(dest), package.rsplit("/", 1)[-1]))
    return dest


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", default=os.environ.get(
        "AUTOEXTENDER_TOOLS", os.path.expanduser("~/.cache/talos-autoextender/bin")))
    p.add_argument("--log", default=None, help="where build errors go (default: <cache>/build.log)")
    p.add_argument("tools", nargs="*", default=list(TOOLS))
    a = p.parse_args()
    os.makedirs(a.cache, exist_ok=True)
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=mod -buildvcs=false", GOTOOLCHAIN="local")
    failed = 0
    with open(a.log or os.path.join(a.cache, "build.log"), "a") as log:
        for name in a.tools:
            start = time.time()
            path = build(name, TOOLS[name], a.cache, env, log)
            if path:
                print("%-15s %-8s %s (%.0fs)" % (name, TOOLS[name]["version"], path, time.time() - start))
            else:
                failed += 1
                print("%-15s FAILED (see %s)" % (name, log.name))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
