#!/bin/sh
# Install talosctl and helm at pinned versions into DEST (default /usr/local/bin),
# refusing any file whose SHA-256 sum does not match.
#
#   install_tools.sh [DEST]
#
# Environment (defaults are the versions the collection is tested with):
#   TALOSCTL_VERSION  v1.14.1      TALOSCTL_SHA256  pinned sum of talosctl-linux-<arch> (optional)
#   TALOSCTL_1_13_VERSION v1.13.9  TALOSCTL_1_13_SHA256  the same for talosctl-1.13 (the collection picks
#                                  the talosctl of the home cluster's Talos line; empty version: not installed)
#   HELM_VERSION      v4.3.1       HELM_SHA256      pinned sum of helm-<ver>-linux-<arch>.tar.gz (optional)
#   ARCH              amd64|arm64 (default: from uname -m)
#   TALOS_RELEASES_URL  https://github.com/siderolabs/talos/releases/download
#   HELM_RELEASES_URL   https://get.helm.sh
#
# Every download is checked against the sum its project publishes with the
# release (talos: sha256sum.txt, helm: <file>.sha256sum). When a *_SHA256 pin
# is set, the file must also match the pin, so a release asset replaced after
# the pin was taken is refused too.
set -eu

DEST=${1:-/usr/local/bin}
TALOSCTL_VERSION=${TALOSCTL_VERSION:-v1.14.1}
TALOSCTL_1_13_VERSION=${TALOSCTL_1_13_VERSION-v1.13.9}
TALOSCTL_1_13_SHA256=${TALOSCTL_1_13_SHA256:-}
HELM_VERSION=${HELM_VERSION:-v4.3.1}
TALOSCTL_SHA256=${TALOSCTL_SHA256:-}
HELM_SHA256=${HELM_SHA256:-}
TALOS_RELEASES_URL=${TALOS_RELEASES_URL:-https://github.com/siderolabs/talos/releases/download}
HELM_RELEASES_URL=${HELM_RELEASES_URL:-https://get.helm.sh}

if [ -z "${ARCH:-}" ]; then
    case "$(uname -m)" in
        x86_64) ARCH=amd64 ;;
        aarch64 | arm64) ARCH=arm64 ;;
        *) echo "install_tools: unsupported machine $(uname -m)" >&2; exit 1 ;;
    esac
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fetch() {  # fetch URL OUT
    curl --fail --silent --show-error --location --retry 3 --output "$2" "$1" || {
        echo "install_tools: cannot download $1" >&2
        exit 1
    }
}

# verify FILE LIST PIN: FILE's sum must be listed for its name in LIST (sha256sum format) and equal PIN if set
verify() {
    name=$(basename "$1")
    listed=$(awk -v f="$name" '$2 == f || $2 == "*" f || $2 == "./" f { print $1; exit }' "$2")
    actual=$(sha256sum "$1" | awk '{ print $1 }')
    if [ -z "$listed" ]; then
        echo "install_tools: $name is not in the published checksum list; refusing it" >&2
        exit 1
    fi
    if [ "$actual" != "$listed" ]; then
        echo "install_tools: $name has SHA-256 $actual, the release publishes $listed; refusing it" >&2
        exit 1
    fi
    if [ -n "$3" ] && [ "$actual" != "$3" ]; then
        echo "install_tools: $name has SHA-256 $actual, pinned $3; refusing it" >&2
        exit 1
    fi
    if [ -z "$3" ]; then
        echo "install_tools: $name matches the published sum $actual (no pin set)"
    else
        echo "install_tools: $name matches the pinned sum $actual"
    fi
}

talos_file=talosctl-linux-$ARCH
# fetch_talosctl VERSION PIN DIR: the release's talosctl, checked, as DIR/talosctl-linux-<arch>
fetch_talosctl() {
    mkdir -p "$3"
    fetch "$TALOS_RELEASES_URL/$1/$talos_file" "$3/$talos_file"
    fetch "$TALOS_RELEASES_URL/$1/sha256sum.txt" "$3/talos.sha256"
    verify "$3/$talos_file" "$3/talos.sha256" "$2"
}
fetch_talosctl "$TALOSCTL_VERSION" "$TALOSCTL_SHA256" "$WORK/talosctl"
if [ -n "$TALOSCTL_1_13_VERSION" ]; then
    fetch_talosctl "$TALOSCTL_1_13_VERSION" "$TALOSCTL_1_13_SHA256" "$WORK/talosctl-1.13"
fi

helm_file=helm-$HELM_VERSION-linux-$ARCH.tar.gz
fetch "$HELM_RELEASES_URL/$helm_file" "$WORK/$helm_file"
fetch "$HELM_RELEASES_URL/$helm_file.sha256sum" "$WORK/helm.sha256"
verify "$WORK/$helm_file" "$WORK/helm.sha256" "$HELM_SHA256"
tar -xzf "$WORK/$helm_file" -C "$WORK" "linux-$ARCH/helm"

mkdir -p "$DEST"
install -m 0755 "$WORK/talosctl/$talos_file" "$DEST/talosctl"
if [ -n "$TALOSCTL_1_13_VERSION" ]; then
    install -m 0755 "$WORK/talosctl-1.13/$talos_file" "$DEST/talosctl-1.13"
    echo "install_tools: talosctl-1.13 $TALOSCTL_1_13_VERSION installed in $DEST"
fi
install -m 0755 "$WORK/linux-$ARCH/helm" "$DEST/helm"
echo "install_tools: talosctl $TALOSCTL_VERSION and helm $HELM_VERSION ($ARCH) installed in $DEST"
