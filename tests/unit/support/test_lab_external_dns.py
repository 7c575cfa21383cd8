"""hack/lab_external_dns.py: the flags of the role's ExternalDNS container for a run on the lab's host."""
import importlib.util
import os

import pytest

PATH = os.path.join(os.path.dirname(__file__), "..", "..", "..", "hack", "lab_external_dns.py")
spec = importlib.util.spec_from_file_location("lab_external_dns", PATH)
lab_external_dns = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lab_external_dns)


def test_the_pod_flags_get_a_kubeconfig_and_a_loopback_metrics_port_and_keep_the_rest():
    args = ["--provider=pdns", "--interval=10s", "--metrics-address=:7979", "--pdns-server=http://127.0.0.1:8081"]
    out = lab_external_dns.out_of_cluster(args, "/lab/external-dns/kubeconfig")
    assert out[:3] == ["--provider=pdns", "--interval=10s", "--pdns-server=http://127.0.0.1:8081"]
    assert out[3] == "--kubeconfig=/lab/external-dns/kubeconfig"
    assert out[4].startswith("--metrics-address=127.0.0.1:") and int(out[4].rsplit(":", 1)[1]) > 0
    assert len(out) == 5


def test_a_flag_that_would_leave_loopback_is_refused():
    with pytest.raises(SystemExit, match="--pdns-server=https://dns.example.com would leave loopback"):
        lab_external_dns.out_of_cluster(["--pdns-server=https://dns.example.com"], "/k")
