#!/usr/bin/env bash
# `make demo`: start the local lab, run the main job (provision), then status.
#   LAB_DIR=/somewhere make demo     # another lab folder (default .lab)
set -euo pipefail
cd "$(dirname "$0")/.."
export ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-1}
LAB_DIR=$(python3 -c 'import os,sys; print(os.path.abspath(sys.argv[1]))' "${LAB_DIR:-.lab}")
export AUTOEXTENDER_LAB_DIR=$LAB_DIR

echo "== 1/4 start the lab in $LAB_DIR (kube-apiserver, PowerDNS, lab cloud with its Talos machines, data path when root)"
python3 hack/lab.py up --dir "$LAB_DIR"

echo "== 2/4 the lab's ClusterIssuer (cert-manager, Pebble, DNS-01 through PowerDNS), then provision on the"
echo "   lab (inventories/lab): servers boot in maintenance mode, get their configs over the Talos API"
echo "   (talosctl apply-config --insecure), reboot and join as Nodes"
ansible-playbook -i inventories/lab hack/lab_addons.yml
ansible-playbook -i inventories/lab playbooks/provision.yml

echo "== 3/4 the lab's Talos machines: each server's Talos API, its stage and its Node"
python3 hack/lab.py status --dir "$LAB_DIR"

echo "== 4/4 status"
ansible-playbook -i inventories/lab playbooks/status.yml

read -r DNS_PORT DATAPATH ROOT_CA < <(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(s["powerdns"]["dns_port"], "yes" if (s.get("datapath") or {}).get("enabled") else "no",
      (s.get("certificates") or {}).get("root", "-"))' "$LAB_DIR/lab.json")
# Every command printed below runs as printed in a new shell, from this folder
# (tests/integration/test_demo_hints.py runs each one so): ansible-playbook lines
# bring their environment along with `. hack/activate`, the Python scripts
# re-run themselves in the checkout's venv (hack/checkout_env.py).
RUN=". hack/activate && "
[ "$LAB_DIR" = "$PWD/.lab" ] || RUN="${RUN}AUTOEXTENDER_LAB_DIR=$LAB_DIR "
LAB_ARG=""
[ "$LAB_DIR" = "$PWD/.lab" ] || LAB_ARG=" --dir $LAB_DIR"
EDGE_IP=$(dig +short @127.0.0.1 -p "$DNS_PORT" edge.lab.test A | head -n1 || true)
HTTPS=(curl -s --cacert "$ROOT_CA" --resolve "hello.lab.test:443:$EDGE_IP" https://hello.lab.test/)
if [ "$DATAPATH" = yes ] && [ -n "$EDGE_IP" ] && [ "$ROOT_CA" != - ]; then
  # cert-manager asks Pebble once its DNS-01 record is in PowerDNS (about 70 s after expose)
  echo "== waiting for hello.lab.test's certificate (cert-manager -> Pebble, DNS-01)"
  for _ in $(seq 1 90); do "${HTTPS[@]}" -o /dev/null && break; sleep 2; done
fi

cat <<TXT

== Where to look (each command runs as printed in any shell, from $PWD;
   \`make shell\` or \`. hack/activate\` gives you a shell with ansible-playbook and the collection)
- Topology report (open it in a browser): $LAB_DIR/status.html
- The edge record set, from the lab's PowerDNS:
    dig @127.0.0.1 -p $DNS_PORT edge.lab.test A +short
TXT
if [ "$DATAPATH" = yes ] && [ -n "$EDGE_IP" ] && [ "$ROOT_CA" != - ]; then
  cat <<TXT
- A request through an edge (Traefik -> WireGuard -> the home app), over HTTPS with the
  certificate cert-manager got from the lab's ACME server (Pebble), trusting only Pebble's root:
    curl -s --cacert $ROOT_CA --resolve hello.lab.test:443:$EDGE_IP https://hello.lab.test/
TXT
else
  cat <<TXT
- The data path (edge proxy + WireGuard) runs only as root; here the lab servers
  answer their health probe on loopback addresses of the lab's own block (see docs/lab.md).
TXT
fi
cat <<TXT
- The status again (changes nothing):
    ${RUN}ansible-playbook -i inventories/lab playbooks/status.yml
- Run it again: nothing changes.
    ${RUN}ansible-playbook -i inventories/lab playbooks/provision.yml
- Remove the pool (it refuses: lab-a holds the last healthy addresses of the edge set):
    ${RUN}ansible-playbook -i inventories/lab playbooks/decommission.yml -e pool=lab-a
- The lab's parts and whether they answer (after a crash or a reboot, \`up\` brings the lab back):
    python3 hack/lab.py status$LAB_ARG

== Tear down (add --purge to delete $LAB_DIR too)
    python3 hack/lab.py down$LAB_ARG
TXT
