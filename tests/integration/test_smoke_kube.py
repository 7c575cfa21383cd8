"""The kube-apiserver fixture, driven the way the collection drives it: kubernetes.core."""
import os

from tests.support.ansible import run_playbook, task_results

PLAYBOOK = os.path.join(os.path.dirname(__file__), "playbooks", "k8s_smoke.yml")


def test_playbook_applies_and_reads_back(kube_cluster):
    proc = run_playbook(PLAYBOOK, {"kubeconfig": kube_cluster.kubeconfig})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    results = task_results(proc)
    assert results["Apply a ConfigMap"]["changed"] is True
    assert results["Read the ConfigMap back"]["resources"][0]["data"] == {"greeting": "hello from ansible"}

    # The outside world: the apiserver itself holds the objects.
    ns = kube_cluster.get("/api/v1/namespaces/autoextender-smoke")
    assert ns["metadata"]["labels"]["managed-by"] == "talos-autoextender"
    cm = kube_cluster.get("/api/v1/namespaces/autoextender-smoke/configmaps/smoke")
    assert cm["data"]["greeting"] == "hello from ansible"

    # A second apply of the same objects changes nothing.
    again = task_results(run_playbook(PLAYBOOK, {"kubeconfig": kube_cluster.kubeconfig}))
    assert again["Apply a Namespace"]["changed"] is False
    assert again["Apply a ConfigMap"]["changed"] is False


def test_kubeconfig_is_private(kube_cluster):
    assert os.stat(kube_cluster.kubeconfig).st_mode & 0o077 == 0
