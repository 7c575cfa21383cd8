#!/usr/bin/env bash
# `make demo`: run the main job (provision, then status) on the local lab.
set -euo pipefail
cd "$(dirname "$0")/.."
export ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-1}
echo "== provision on the local lab (inventories/lab)"
ansible-playbook -i inventories/lab playbooks/provision.yml
cat <<'TXT'

== What this demo did and did not do
- It validated the lab's desired state and checked every tool and library.
- It did NOT create lab servers, join them, publish DNS or expose services:
  those layers are not built yet (see the PARTIAL RUN line above).
- Nothing was started in the background, so there is nothing to tear down.
TXT
