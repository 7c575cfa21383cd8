#!/bin/sh
# Create the talos-autoextender project in Semaphore UI through its API:
# repository, inventory, environment, one template per workflow and the
# failover schedule (project.json, Semaphore's project backup format), then
# store the credentials as secrets of the environment.
#
#   export SEMAPHORE_URL=https://semaphore.example.com SEMAPHORE_API_TOKEN=...
#   export HCLOUD_TOKEN=... CLOUDFLARE_API_TOKEN=...      # the ones you use
#   extras/semaphore/setup.sh
#
# Settings (environment):
#   GIT_URL        repository Semaphore clones (default: this collection's)
#   GIT_BRANCH     its branch or tag (default: main)
#   INVENTORY_DIR  folder of hosts.yml and edge_nodes.yml in it (default: inventories/example)
#   FILES_DIR      folder on the Semaphore runner holding talosconfig and
#                  kubeconfig (default: /etc/semaphore/talos-autoextender)
# Credentials (each stored only when set): see SECRET_ENV_VARS below. They
# travel in request bodies read from stdin, never on a command line, and the
# API token is passed to curl in a 0600 header file.
# Needs: curl and python3 (to read the API's JSON answers).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
: "${SEMAPHORE_URL:?set SEMAPHORE_URL, e.g. https://semaphore.example.com}"
: "${SEMAPHORE_API_TOKEN:?set SEMAPHORE_API_TOKEN (Semaphore: user menu, API tokens)}"
GIT_URL=${GIT_URL:-https://github.com/talos-autoextender/talos.autoextender.git}
GIT_BRANCH=${GIT_BRANCH:-main}
INVENTORY_DIR=${INVENTORY_DIR:-inventories/example}
FILES_DIR=${FILES_DIR:-/etc/semaphore/talos-autoextender}
API=${SEMAPHORE_URL%/}/api

# The environment variables the collection's modules read for credentials.
SECRET_ENV_VARS="HCLOUD_TOKEN LINODE_TOKEN PDNS_API_KEY CLOUDFLARE_API_TOKEN RFC2136_TSIG_KEY_NAME RFC2136_TSIG_SECRET"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
umask 077
printf 'Authorization: Bearer %s\n' "$SEMAPHORE_API_TOKEN" >"$WORK/auth"

api() {  # api METHOD PATH [BODY_FILE] -> response body on stdout; fails on HTTP >= 400
    if [ $# -ge 3 ]; then
        curl --silent --show-error --fail-with-body --header @"$WORK/auth" --header "Content-Type: application/json" \
            --request "$1" --data-binary @"$3" "$API$2"
    else
        curl --silent --show-error --fail-with-body --header @"$WORK/auth" --request "$1" "$API$2"
    fi
}

json_get() {  # json_get PYTHON_EXPRESSION (of `d`, the JSON read from stdin)
    python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

if api GET /projects | json_get 'any(p["name"] == "talos-autoextender" for p in d)' | grep -qx True; then
    echo "setup: a project named talos-autoextender exists already; delete or rename it first" >&2
    exit 1
fi

sed -e "s|@GIT_URL@|$GIT_URL|g" -e "s|@GIT_BRANCH@|$GIT_BRANCH|g" \
    -e "s|@INVENTORY_DIR@|$INVENTORY_DIR|g" -e "s|@FILES_DIR@|$FILES_DIR|g" \
    "$HERE/project.json" >"$WORK/project.json"
project_id=$(api POST /projects/restore "$WORK/project.json" | json_get 'd["id"]')
echo "setup: project talos-autoextender created (id $project_id)"

api GET "/project/$project_id/environment" >"$WORK/environments.json"
# The environment as it is, plus one `create` secret per credential variable that is set.
SECRET_ENV_VARS=$SECRET_ENV_VARS python3 - "$WORK/environments.json" "$project_id" >"$WORK/environment.json" <<'EOF'
import json, os, sys
env = next(e for e in json.load(open(sys.argv[1])) if e["name"] == "talos-autoextender")
names = [n for n in os.environ["SECRET_ENV_VARS"].split() if os.environ.get(n)]
body = {"id": env["id"], "name": env["name"], "project_id": int(sys.argv[2]), "json": env.get("json") or "{}",
        "env": env.get("env") or "{}",
        "secrets": [{"name": n, "secret": os.environ[n], "type": "env", "operation": "create"} for n in names]}
json.dump(body, sys.stdout)
sys.stderr.write("setup: storing secrets %s\n" % (", ".join(names) or "(none set)"))
EOF
env_id=$(json_get 'd["id"]' <"$WORK/environment.json")
api PUT "/project/$project_id/environment/$env_id" "$WORK/environment.json" >/dev/null
echo "setup: done. Put talosconfig and kubeconfig in $FILES_DIR on the runner (docs/operations.md)."
