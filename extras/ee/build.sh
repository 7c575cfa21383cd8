#!/bin/sh
# Build the execution environment image of talos.autoextender.
#
#   extras/ee/build.sh [TAG] [ansible-builder build options...]
#   extras/ee/build.sh registry.example.com/talos-autoextender-ee:0.1.0 --build-arg TALOSCTL_SHA256=<sum>
#
# Steps: build the collection tarball from this checkout, put it next to a
# copy of execution-environment.yml and install_tools.sh in a temporary
# folder (the build context), run `ansible-builder build`. Needs
# ansible-builder (pip install ansible-builder) and podman or docker.
# With ONLY_CREATE=1 it stops after `ansible-builder create` (no container
# runtime needed): the Containerfile is left in $CONTEXT_DIR (printed).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TAG=${1:-talos-autoextender-ee:latest}
[ $# -gt 0 ] && shift

WORK=${WORK_DIR:-$(mktemp -d)}
mkdir -p "$WORK/out"
ansible-galaxy collection build --force --output-path "$WORK/out" "$ROOT" >/dev/null
cp "$WORK"/out/talos-autoextender-*.tar.gz "$WORK/talos-autoextender.tar.gz"
cp "$HERE/execution-environment.yml" "$HERE/install_tools.sh" "$WORK/"

if [ "${ONLY_CREATE:-0}" = 1 ]; then
    ansible-builder create -f "$WORK/execution-environment.yml" --context "$WORK/context" "$@"
    echo "CONTEXT_DIR=$WORK/context"
else
    ansible-builder build -f "$WORK/execution-environment.yml" --context "$WORK/context" --tag "$TAG" "$@"
    echo "built $TAG (build context: $WORK/context)"
fi
