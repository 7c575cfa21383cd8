"""The Node wait of the edge_nodes role as a user sees it: one line per state change, no retry noise.

Real kube-apiserver; the Nodes are registered from a real Talos worker config, one of them turns
Ready only after a few seconds, as a joining kubelet would.
"""
import os
import threading
import uuid

from tests.support.ansible import run_playbook
from tests.support.fixtures_k8s import edge_pool

PLAYBOOK = os.path.join(os.path.dirname(__file__), "playbooks", "k8s_edge_nodes.yml")
# The human output of ansible-playbook, not the json callback the other tests read.
HUMAN = {"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default", "ANSIBLE_NOCOLOR": "1"}


def run(kube_cluster, pool, on_line=None, **extra):
    return run_playbook(PLAYBOOK, dict({"edge_nodes_kubeconfig": kube_cluster.kubeconfig, "edge_nodes_pool": pool},
                                       **extra), env=HUMAN, on_line=on_line)


def test_the_wait_prints_each_state_change_once_and_no_retry_lines(kube, kube_cluster, talos_edge_nodes):
    pool = edge_pool("wait-" + uuid.uuid4().hex[:6])
    names = [pool["name"] + "-1", pool["name"] + "-2"]
    talos_edge_nodes(pool, names[:1])
    talos_edge_nodes(pool, names[1:], ready=False)
    # The second Node turns Ready a few seconds after the wait task starts (not after a guessed delay
    # from the test's start: under load ansible-playbook may take longer than that to get there).
    later = threading.Timer(8, kube.set_node_ready, (names[1], True))

    def start_when_waiting(line):
        if "Wait until the pool's nodes are Ready" in line and not later.ident:
            later.start()

    try:
        proc = run(kube_cluster, pool, on_line=start_when_waiting, edge_nodes_names=names)
    finally:
        later.cancel()
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "FAILED - RETRYING" not in out and "Unknown error" not in out
    events = [line.strip().strip('",') for line in out.splitlines() if "s: %s-" % pool["name"] in line]
    assert [e.split(": ", 1)[1] for e in events] == [
        "%s: registered, Ready" % names[0], "%s: registered, not Ready (KubeletNotReady)" % names[1],
        "%s: Ready" % names[1]], out[-3000:]
    assert int(events[-1].split("s:")[0]) >= 1


def test_a_timeout_says_what_is_missing_in_one_message(kube, kube_cluster, talos_edge_nodes):
    pool = edge_pool("wait-" + uuid.uuid4().hex[:6])
    talos_edge_nodes(pool, [pool["name"] + "-1"], ready=False)
    proc = run(kube_cluster, pool, edge_nodes_names=[pool["name"] + "-1", pool["name"] + "-2"],
               edge_nodes_wait_timeout=3)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "FAILED - RETRYING" not in out and "Unknown error" not in out
    assert ("Timed out after 3s waiting for 2 Ready node(s) of pool %s (autoextender.io/pool=%s): %s-1, %s-2. "
            "Ready: none; not Ready: %s-1; missing: %s-2." % ((pool["name"],) * 6)) in out
