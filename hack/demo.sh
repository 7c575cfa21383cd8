#!/usr/bin/env bash
# `make demo`: start the local lab, run the main job (provision), then status.
#   LAB_DIR=/somewhere make demo     # another lab folder (default .lab)
set -euo pipefail
cd "$(dirname "$0")/.."
export ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-1}
LAB_DIR=$(python3 -c 'import os,sys; print(os.path.abspath(sys.argv[1]))' "${LAB_DIR:-.lab}")
export AUTOEXTENDER_LAB_DIR=$LAB_DIR

echo "== 1/3 start the lab in $LAB_DIR (kube-apiserver, PowerDNS, lab cloud, data path when root)"
python3 hack/lab.py up --dir "$LAB_DIR"

echo "== 2/3 provision on the lab (inventories/lab)"
ansible-playbook -i inventories/lab playbooks/provision.yml

echo "== 3/3 status"
ansible-playbook -i inventories/lab playbooks/status.yml

read -r DNS_PORT DATAPATH < <(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(s["powerdns"]["dns_port"], "yes" if (s.get("datapath") or {}).get("enabled") else "no")' "$LAB_DIR/lab.json")
ENV=""
[ "$LAB_DIR" = "$PWD/.lab" ] || ENV="AUTOEXTENDER_LAB_DIR=$LAB_DIR "
EDGE_IP=$(dig +short @127.0.0.1 -p "$DNS_PORT" edge.lab.test A | head -n1 || true)

cat <<TXT

== Where to look
- Topology report (open it in a browser):  $LAB_DIR/status.html
- The edge record set, from the lab's PowerDNS:
    dig @127.0.0.1 -p $DNS_PORT edge.lab.test A +short
TXT
if [ "$DATAPATH" = yes ] && [ -n "$EDGE_IP" ]; then
  cat <<TXT
- A request through an edge (nginx -> WireGuard -> the home app):
    curl -s -H 'Host: hello.lab.test' http://$EDGE_IP/
TXT
else
  cat <<TXT
- The data path (edge proxy + WireGuard) runs only as root; here the lab servers
  answer their health probe on 127.0.10.x (see docs/lab.md).
TXT
fi
cat <<TXT
- Run it again: nothing changes.   ${ENV}ansible-playbook -i inventories/lab playbooks/provision.yml
- Remove the pool:                 ${ENV}ansible-playbook -i inventories/lab playbooks/decommission.yml -e pool=lab-a
                                   (it refuses: lab-a holds the last healthy addresses of the edge set)

== Tear down
    python3 hack/lab.py down --dir $LAB_DIR          # add --purge to delete $LAB_DIR too
TXT
