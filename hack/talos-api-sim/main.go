// Command talos-api-sim is the machine API of one lab server: a simulator of a
// Talos *node* (not of talosctl) that the real talosctl talks to on port 50000.
//
// It is built on the official machinery module: configs are loaded and
// validated by machinery's own loader and validator (mode: cloud), diffs come
// from machinery's configdiff, resources are machinery's COSI resource types
// served by the COSI runtime's own gRPC State server. What a node does that
// the lab cannot (install, kubelet, containers) is left out; docs/lab.md says
// what is in and what is not. The contract with the lab is
// docs/lab.md ("The node API of the lab servers").
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type options struct {
	stateDir         string
	listen           stringList
	port             int
	hostname         string
	userData         string
	kubeconfig       string
	rebootSeconds    float64
	heartbeatSeconds float64
	wgInterface      string
	peersFile        string
	trustd           string
}

func main() {
	var opts options

	flag.StringVar(&opts.stateDir, "state-dir", "", "the machine's disk: config.yaml, status.json (required)")
	flag.Var(&opts.listen, "listen", "an address of the machine to serve the API on (repeatable, required)")
	flag.IntVar(&opts.port, "port", 50000, "the API port (talosctl's is 50000)")
	flag.StringVar(&opts.hostname, "hostname", "", "the name the machine has when its config names none (the cloud server name)")
	flag.StringVar(&opts.userData, "user-data", "", "boot configured from this machine config (cloud user data)")
	flag.StringVar(&opts.kubeconfig, "kubeconfig", "", "register the Node in this cluster and keep its Lease and Ready fresh")
	flag.Float64Var(&opts.rebootSeconds, "reboot-seconds", 2, "how long a reboot keeps the API unreachable")
	flag.Float64Var(&opts.heartbeatSeconds, "heartbeat-seconds", 5, "how often the Node's Lease and Ready condition are renewed")
	flag.StringVar(&opts.wgInterface, "wg-interface", "", "the WireGuard link whose peers are the KubeSpan peers (wg show IF dump)")
	flag.StringVar(&opts.peersFile, "peers", "", "JSON list of {publicKey, label, endpoint}: who the WireGuard peers are (the lab's discovery)")
	flag.StringVar(&opts.trustd, "trustd", "", "the control plane's machine config (its config.yaml) or the cluster's secrets bundle: stands in for trustd, which signs a worker's API certificate")
	version := flag.Bool("version", false, "print the Talos version of the machinery this simulator is built on, and exit")
	flag.Parse()

	if *version {
		fmt.Println(talosTag())
		return
	}

	if opts.stateDir == "" || len(opts.listen) == 0 {
		fmt.Fprintln(os.Stderr, "talos-api-sim: --state-dir and at least one --listen are required")
		os.Exit(2)
	}

	log.SetFlags(log.LstdFlags | log.Lmicroseconds | log.LUTC)

	m, err := newMachine(opts)
	if err != nil {
		log.Fatalf("talos-api-sim: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	if err := m.run(ctx); err != nil {
		log.Fatalf("talos-api-sim: %v", err)
	}
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
