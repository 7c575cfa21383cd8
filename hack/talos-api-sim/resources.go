package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/cosi-project/runtime/pkg/resource"
	"github.com/cosi-project/runtime/pkg/resource/meta"
	"github.com/cosi-project/runtime/pkg/state"
	"github.com/cosi-project/runtime/pkg/state/impl/inmem"
	"github.com/cosi-project/runtime/pkg/state/impl/namespaced"
	"github.com/cosi-project/runtime/pkg/state/registry"
	"github.com/siderolabs/talos/pkg/machinery/config/machine"
	"github.com/siderolabs/talos/pkg/machinery/nethelpers"
	"github.com/siderolabs/talos/pkg/machinery/resources/cluster"
	"github.com/siderolabs/talos/pkg/machinery/resources/config"
	"github.com/siderolabs/talos/pkg/machinery/resources/k8s"
	"github.com/siderolabs/talos/pkg/machinery/resources/kubespan"
	"github.com/siderolabs/talos/pkg/machinery/resources/network"
	"github.com/siderolabs/talos/pkg/machinery/resources/runtime"
)

// resources is the node's COSI state, served by the COSI runtime's own gRPC server:
// machinery's resource types, registered as a node registers them, kept in step
// with the machine (its stage, config, addresses and the kernel's WireGuard link).
type resources struct {
	st state.State
	mu sync.Mutex // one sync at a time: the loop's, or an apply's
}

func newResources() (*resources, error) {
	ctx := context.Background()
	st := state.WrapCore(namespaced.NewState(inmem.Build))

	namespaces := registry.NewNamespaceRegistry(st)
	if err := namespaces.RegisterDefault(ctx); err != nil {
		return nil, err
	}

	types := registry.NewResourceRegistry(st)
	if err := types.RegisterDefault(ctx); err != nil {
		return nil, err
	}

	for ns, description := range map[string]string{
		cluster.NamespaceName:  "Cluster configuration and discovery resources.",
		config.NamespaceName:   "Talos node configuration.",
		k8s.NamespaceName:      "Kubernetes all node types resources.",
		kubespan.NamespaceName: "KubeSpan resources.",
		network.NamespaceName:  "Networking resources.",
		runtime.NamespaceName:  "Talos runtime resources.",
	} {
		if err := namespaces.Register(ctx, ns, description); err != nil {
			return nil, err
		}
	}

	for _, r := range []meta.ResourceWithRD{
		&cluster.Member{}, &config.MachineConfig{}, &config.MachineType{}, &k8s.Nodename{}, &kubespan.Identity{}, &kubespan.PeerStatus{},
		&network.AddressStatus{}, &runtime.MachineStatus{},
	} {
		if err := types.Register(ctx, r); err != nil {
			return nil, err
		}
	}

	return &resources{st: st}, nil
}

// keepFresh syncs the resources with the machine every second until ctx ends.
func (r *resources) keepFresh(ctx context.Context, m *machineState) {
	for {
		if err := r.sync(ctx, m); err != nil && ctx.Err() == nil {
			log.Printf("resources: %v", err)
		}

		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (r *resources) sync(ctx context.Context, m *machineState) error {
	r.mu.Lock()
	defer r.mu.Unlock()

	m.mu.Lock()
	cfg, stage := m.running, m.stage
	node := m.nodeNameLocked()
	m.mu.Unlock()

	status := runtime.NewMachineStatus()
	status.TypedSpec().Stage = runtime.MachineStageMaintenance

	if cfg != nil {
		status.TypedSpec().Stage = runtime.MachineStageRunning
		status.TypedSpec().Status.Ready = stage == stageConfigured
	} else {
		status.TypedSpec().Status.UnmetConditions = []runtime.UnmetCondition{{Name: "config", Reason: "waiting for a machine config"}}
	}

	machineType := config.NewMachineType()
	machineType.SetMachineType(m.machineType())

	desired := []resource.Resource{status, machineType}
	addrs := m.addresses()

	for _, a := range addrs {
		bits := 24
		if a.Is6() {
			bits = 64
		}

		prefix := netip.PrefixFrom(a, bits)
		res := network.NewAddressStatus(network.NamespaceName, "eth0/"+prefix.String())
		spec := res.TypedSpec()
		spec.Address, spec.Local, spec.LinkName, spec.LinkIndex = prefix, a, "eth0", 2
		spec.Family, spec.Scope = nethelpers.FamilyInet4, nethelpers.ScopeGlobal

		if a.Is6() {
			spec.Family = nethelpers.FamilyInet6
		}

		desired = append(desired, res)
	}

	if cfg != nil {
		nodename := k8s.NewNodename(k8s.NamespaceName, k8s.NodenameID)
		nodename.TypedSpec().Nodename, nodename.TypedSpec().HostnameVersion = node, "1"

		self := cluster.NewMember(cluster.NamespaceName, node)
		self.TypedSpec().NodeID = m.nodeID()
		self.TypedSpec().Addresses = addrs
		self.TypedSpec().Hostname = node
		self.TypedSpec().MachineType = cfg.Machine().Type()
		self.TypedSpec().OperatingSystem = "Talos (" + talosTag() + ")"

		// The running config, as talosctl get/patch machineconfig read it (os:admin only: sensitiveState).
		desired = append(desired, nodename, self, config.NewMachineConfig(cfg))

		if ks := cfg.NetworkKubeSpanConfig(); ks != nil && ks.Enabled() && m.opts.wgInterface != "" {
			desired = append(desired, m.kubespan(ctx)...)
		}
	}

	return r.reconcile(ctx, desired)
}

// The resource types the simulator owns; anything of these not desired is removed.
var ownedTypes = []resource.Metadata{
	resource.NewMetadata(runtime.NamespaceName, runtime.MachineStatusType, "", resource.VersionUndefined),
	resource.NewMetadata(config.NamespaceName, config.MachineTypeType, "", resource.VersionUndefined),
	resource.NewMetadata(config.NamespaceName, config.MachineConfigType, "", resource.VersionUndefined),
	resource.NewMetadata(network.NamespaceName, network.AddressStatusType, "", resource.VersionUndefined),
	resource.NewMetadata(k8s.NamespaceName, k8s.NodenameType, "", resource.VersionUndefined),
	resource.NewMetadata(cluster.NamespaceName, cluster.MemberType, "", resource.VersionUndefined),
	resource.NewMetadata(kubespan.NamespaceName, kubespan.IdentityType, "", resource.VersionUndefined),
	resource.NewMetadata(kubespan.NamespaceName, kubespan.PeerStatusType, "", resource.VersionUndefined),
}

func (r *resources) reconcile(ctx context.Context, desired []resource.Resource) error {
	want := map[string]bool{}

	for _, res := range desired {
		want[key(res.Metadata())] = true

		if err := r.put(ctx, res); err != nil {
			return err
		}
	}

	for _, kind := range ownedTypes {
		list, err := r.st.List(ctx, kind)
		if err != nil {
			return err
		}

		for _, res := range list.Items {
			if !want[key(res.Metadata())] {
				if err := r.st.Destroy(ctx, res.Metadata()); err != nil && !state.IsNotFoundError(err) {
					return err
				}
			}
		}
	}

	return nil
}

func key(md *resource.Metadata) string { return md.Namespace() + "/" + md.Type() + "/" + md.ID() }

// put creates res, or updates it when its spec changed (so versions move only on change).
func (r *resources) put(ctx context.Context, res resource.Resource) error {
	cur, err := r.st.Get(ctx, res.Metadata())
	if state.IsNotFoundError(err) {
		return r.st.Create(ctx, res)
	}

	if err != nil {
		return err
	}

	if reflect.DeepEqual(cur.Spec(), res.Spec()) {
		return nil
	}

	res.Metadata().SetVersion(cur.Metadata().Version())

	return r.st.Update(ctx, res)
}

// addresses are the machine's public addresses (the ones it listens on).
func (m *machineState) addresses() []netip.Addr {
	out := make([]netip.Addr, 0, len(m.opts.listen))

	for _, a := range m.opts.listen {
		if ip, err := netip.ParseAddr(a); err == nil {
			out = append(out, ip.Unmap())
		}
	}

	return out
}

// nodeID is the machine's stable identity, kept on its disk like a node's.
func (m *machineState) nodeID() string {
	path := filepath.Join(m.opts.stateDir, "node-id")
	if data, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(data))
	}

	buf := make([]byte, 16)
	rand.Read(buf) //nolint:errcheck

	id := hex.EncodeToString(buf)
	if err := writeAtomic(path, []byte(id), 0o644); err != nil {
		log.Printf("node-id: %v", err)
	}

	return id
}

// kubespan reads the WireGuard link the lab gave the machine: its identity and,
// for every peer the peers file names, the state the kernel reports.
func (m *machineState) kubespan(ctx context.Context) []resource.Resource {
	link, err := wgShow(ctx, m.opts.wgInterface)
	if err != nil {
		log.Printf("kubespan: %v", err)

		return nil
	}

	identity := kubespan.NewIdentity(kubespan.NamespaceName, kubespan.LocalIdentity)
	identity.TypedSpec().PublicKey = link.publicKey

	if iface, err := net.InterfaceByName(m.opts.wgInterface); err == nil {
		if addrs, err := iface.Addrs(); err == nil && len(addrs) > 0 {
			if p, err := netip.ParsePrefix(addrs[0].String()); err == nil {
				identity.TypedSpec().Address = p
				identity.TypedSpec().Subnet = p.Masked()
			}
		}
	}

	out := []resource.Resource{identity}

	peers, err := readPeers(m.opts.peersFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Printf("kubespan peers: %v", err)
	}

	for _, p := range peers {
		res := kubespan.NewPeerStatus(kubespan.NamespaceName, p.PublicKey)
		spec := res.TypedSpec()
		spec.Label = p.Label
		spec.State = kubespan.PeerStateUnknown

		if ep, err := netip.ParseAddrPort(p.Endpoint); err == nil {
			spec.Endpoint = ep
		}

		if w, ok := link.peers[p.PublicKey]; ok {
			spec.ReceiveBytes, spec.TransmitBytes = w.rx, w.tx
			spec.LastHandshakeTime, spec.LastUsedEndpoint = w.handshake, w.endpoint
			spec.State = peerState(w.handshake, link.since)
		}

		out = append(out, res)
	}

	return out
}

// Talos' rule: up after a handshake within the peer-down interval; before the first
// handshake "unknown" for a short while after the link came up, then down.
const (
	peerDownInterval          = (180 + 5 + 90) * time.Second
	endpointConnectionTimeout = 15 * time.Second
)

func peerState(handshake, linkSince time.Time) kubespan.PeerState {
	switch {
	case !handshake.IsZero() && time.Since(handshake) < peerDownInterval:
		return kubespan.PeerStateUp
	case handshake.IsZero() && time.Since(linkSince) < endpointConnectionTimeout:
		return kubespan.PeerStateUnknown
	default:
		return kubespan.PeerStateDown
	}
}

var _ = machine.TypeWorker
