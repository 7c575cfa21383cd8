package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	cosiv1alpha1 "github.com/cosi-project/runtime/api/v1alpha1"
	"github.com/cosi-project/runtime/pkg/state/protobuf/server"
	"github.com/google/uuid"
	"github.com/siderolabs/talos/pkg/machinery/api/common"
	"github.com/siderolabs/talos/pkg/machinery/api/machine"
	"github.com/siderolabs/talos/pkg/machinery/config"
	"github.com/siderolabs/talos/pkg/machinery/config/configdiff"
	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/config/container"
	"github.com/siderolabs/talos/pkg/machinery/constants"
	"github.com/siderolabs/talos/pkg/machinery/gendata"
	resconfig "github.com/siderolabs/talos/pkg/machinery/resources/config"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// machineAPI is the part of machine.MachineService a lab node implements; the
// rest answers Unimplemented, as a node of another build would.
type machineAPI struct {
	machine.UnimplementedMachineServiceServer

	m       *machineState
	applyMu sync.Mutex
}

func registerAPI(srv *grpc.Server, m *machineState) {
	machine.RegisterMachineServiceServer(srv, &machineAPI{m: m})
	cosiv1alpha1.RegisterStateServer(srv, sensitiveState{StateServer: server.NewState(m.res.st), m: m})
}

// sensitiveState refuses a sensitive resource (the machine config holds the cluster's
// secrets) to a caller without os:admin, as a node's resource access filter does.
type sensitiveState struct {
	cosiv1alpha1.StateServer
	m *machineState
}

func (s sensitiveState) allowed(ctx context.Context, resourceType string) error {
	if resourceType != resconfig.MachineConfigType || slices.Contains(roles(ctx), roleAdmin) {
		return nil
	}

	return status.Errorf(codes.PermissionDenied, "not authorized: %s is sensitive (os:admin only)", resourceType)
}

func (s sensitiveState) Get(ctx context.Context, in *cosiv1alpha1.GetRequest) (*cosiv1alpha1.GetResponse, error) {
	if err := s.allowed(ctx, in.GetType()); err != nil {
		return nil, err
	}

	return s.StateServer.Get(ctx, in)
}

func (s sensitiveState) List(in *cosiv1alpha1.ListRequest, out grpc.ServerStreamingServer[cosiv1alpha1.ListResponse]) error {
	if err := s.allowed(out.Context(), in.GetType()); err != nil {
		return err
	}

	return s.StateServer.List(in, out)
}

func (s sensitiveState) Watch(in *cosiv1alpha1.WatchRequest, out grpc.ServerStreamingServer[cosiv1alpha1.WatchResponse]) error {
	if err := s.allowed(out.Context(), in.GetType()); err != nil {
		return err
	}

	return s.StateServer.Watch(in, out)
}

func talosTag() string { return gendata.VersionTag }

// answeredBy is the metadata apid puts on every message of a proxied answer.
func answeredBy(ctx context.Context) *common.Metadata {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, key := range []string{"nodes", "node"} {
		if v := md.Get(key); len(v) > 0 {
			return &common.Metadata{Hostname: v[0]}
		}
	}

	return nil
}

func (a *machineAPI) Version(ctx context.Context, _ *emptypb.Empty) (*machine.VersionResponse, error) {
	return &machine.VersionResponse{Messages: []*machine.Version{{
		Metadata: answeredBy(ctx),
		Version: &machine.VersionInfo{
			Tag: talosTag(), Sha: "lab", Built: "", GoVersion: runtime.Version(), Os: "linux", Arch: runtime.GOARCH,
		},
		Platform: &machine.PlatformInfo{Name: "lab", Mode: "cloud"},
		Features: &machine.FeaturesInfo{Rbac: true},
	}}}, nil
}

func (a *machineAPI) ApplyConfiguration(ctx context.Context, in *machine.ApplyConfigurationRequest) (*machine.ApplyConfigurationResponse, error) {
	if !a.applyMu.TryLock() {
		return nil, status.Error(codes.FailedPrecondition, "another apply configuration is already in progress")
	}
	defer a.applyMu.Unlock()

	m := a.m

	m.mu.Lock()
	current, pending := m.running, m.pending
	m.mu.Unlock()

	if pending {
		return nil, status.Error(codes.FailedPrecondition,
			"configuration was already applied and node is rebooting, cannot apply more configuration changes until next reboot")
	}

	maintenance := current == nil

	cfg, err := configloader.NewFromBytes(in.GetData())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}

	if !maintenance && cfg.RawV1Alpha1() == nil {
		return nil, status.Error(codes.InvalidArgument,
			"the applied machine configuration doesn't contain v1alpha1 config, did you mean to patch the machine config instead?")
	}

	warnings, err := cfg.Validate(cloudMode{})
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}

	mode, modeName := in.Mode, in.Mode.String()
	details, modeErr := "Applied configuration with a reboot", ""

	if maintenance && mode == machine.ApplyConfigurationRequest_REBOOT {
		mode = machine.ApplyConfigurationRequest_NO_REBOOT // nothing runs yet: the boot just goes on
	}

	switch mode { //nolint:exhaustive
	case machine.ApplyConfigurationRequest_TRY, machine.ApplyConfigurationRequest_NO_REBOOT:
		if err := immediate(current, cfg); err != nil && !maintenance {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}

		details = "Applied configuration without a reboot"
	case machine.ApplyConfigurationRequest_STAGED:
		details = "Staged configuration to be applied after the next reboot"
	case machine.ApplyConfigurationRequest_AUTO:
		if err := immediate(current, cfg); err != nil && !maintenance {
			mode, modeErr = machine.ApplyConfigurationRequest_REBOOT, ": "+err.Error()
		} else {
			mode, details = machine.ApplyConfigurationRequest_NO_REBOOT, "Applied configuration without a reboot"
		}

		modeName = fmt.Sprintf("%s(%s)", modeName, mode)
	}

	if in.DryRun {
		diff, err := configDiff(current, cfg)
		if err != nil {
			return nil, fmt.Errorf("failed to generate diff: %w", err)
		}

		return &machine.ApplyConfigurationResponse{Messages: []*machine.ApplyConfiguration{{
			Metadata: answeredBy(ctx), Mode: mode,
			ModeDetails: fmt.Sprintf("Dry run summary:\n%s (skipped in dry-run).\nConfig diff:\n\n%s", details, diff),
		}}}, nil
	}

	log.Printf("apply config request: mode %s", strings.ToLower(modeName))

	switch mode { //nolint:exhaustive
	case machine.ApplyConfigurationRequest_TRY:
		timeout := constants.ConfigTryTimeout
		if in.TryModeTimeout != nil {
			timeout = in.TryModeTimeout.AsDuration()
		}

		details += fmt.Sprintf("\nThe config is applied in 'try' mode and will be automatically reverted back in %s", timeout)
		m.tryConfig(cfg, timeout)
	case machine.ApplyConfigurationRequest_NO_REBOOT:
		if err := m.persist(cfg); err != nil {
			return nil, err
		}

		if maintenance {
			m.reboot() // the boot goes on with the config: the API comes back with mutual TLS
		} else {
			m.setRunning(cfg)
		}
	case machine.ApplyConfigurationRequest_STAGED:
		if err := m.persist(cfg); err != nil {
			return nil, err
		}
	case machine.ApplyConfigurationRequest_REBOOT:
		if err := m.persist(cfg); err != nil {
			return nil, err
		}

		m.reboot()
	default:
		return nil, fmt.Errorf("incorrect mode '%s' specified for the apply config call", in.Mode.String())
	}

	return &machine.ApplyConfigurationResponse{Messages: []*machine.ApplyConfiguration{{
		Metadata: answeredBy(ctx), Mode: mode, Warnings: warnings, ModeDetails: details + modeErr,
	}}}, nil
}

// configDiff is what a node shows for a dry run: machinery's document diff, or "No changes.".
func configDiff(current, next config.Provider) (string, error) {
	var old config.Encoder = current
	if current == nil {
		empty, err := container.New()
		if err != nil {
			return "", err
		}

		old = empty
	}

	diff, err := configdiff.DiffConfigs(old, next)
	if err != nil || diff != "" {
		return diff, err
	}

	return "No changes.", nil
}

// immediate says whether next can replace current without a reboot: only the
// v1alpha1 fields a running node reconfigures live may differ (the list a node
// documents for `--mode=no-reboot`); other documents always apply live.
func immediate(current, next config.Provider) error {
	if current == nil {
		return errors.New("no current config")
	}

	cur, nxt := current.RawV1Alpha1(), next.RawV1Alpha1()
	if cur == nil || nxt == nil {
		return errors.New("the config is not v1alpha1")
	}

	nxt = nxt.DeepCopy()
	nxt.ConfigDebug, nxt.ClusterConfig = cur.ConfigDebug, cur.ClusterConfig

	if nm, cm := nxt.MachineConfig, cur.MachineConfig; nm != nil && cm != nil {
		nm.MachineCA, nm.MachineAcceptedCAs, nm.MachineCertSANs = cm.MachineCA, cm.MachineAcceptedCAs, cm.MachineCertSANs
		nm.MachineTime, nm.MachineInstall, nm.MachineNetwork = cm.MachineTime, cm.MachineInstall, cm.MachineNetwork //nolint:staticcheck
		nm.MachineSysfs, nm.MachineSysctls, nm.MachineLogging = cm.MachineSysfs, cm.MachineSysctls, cm.MachineLogging
		nm.MachineControlPlane, nm.MachineKubelet, nm.MachineKernel = cm.MachineControlPlane, cm.MachineKubelet, cm.MachineKernel
		nm.MachineRegistries, nm.MachinePods, nm.MachineSeccompProfiles = cm.MachineRegistries, cm.MachinePods, cm.MachineSeccompProfiles //nolint:staticcheck
		nm.MachineNodeAnnotations, nm.MachineNodeLabels, nm.MachineNodeTaints = cm.MachineNodeAnnotations, cm.MachineNodeLabels, cm.MachineNodeTaints

		if nf, cf := nm.MachineFeatures, cm.MachineFeatures; nf != nil && cf != nil {
			nf.KubernetesTalosAPIAccessConfig, nf.KubePrismSupport = cf.KubernetesTalosAPIAccessConfig, cf.KubePrismSupport
			nf.HostDNSSupport, nf.ImageCacheSupport = cf.HostDNSSupport, cf.ImageCacheSupport
			nf.FeatureNodeAddressSortAlgorithm = cf.FeatureNodeAddressSortAlgorithm
		}
	}

	if reflect.DeepEqual(cur, nxt) {
		return nil
	}

	diff, err := configdiff.DiffConfigs(container.NewV1Alpha1(cur), container.NewV1Alpha1(nxt))
	if err != nil {
		return fmt.Errorf("error calculating diff: %w", err)
	}

	return fmt.Errorf("this config change can't be applied in immediate mode\ndiff:\n%s", diff)
}

// Wipe labels a worker's reset may name; the config lives on STATE.
var systemPartitions = []string{"STATE", "EPHEMERAL", "META"}

func (a *machineAPI) Reset(ctx context.Context, in *machine.ResetRequest) (*machine.ResetResponse, error) {
	if len(in.GetUserDisksToWipe()) > 0 {
		if in.Mode == machine.ResetRequest_SYSTEM_DISK {
			return nil, errors.New("reset failed: invalid input, wipe mode SYSTEM_DISK doesn't support UserDisksToWipe parameter")
		}

		return nil, fmt.Errorf("reset user disk failed: device %s wasn't found", in.GetUserDisksToWipe()[0])
	}

	wipeState := in.Mode != machine.ResetRequest_USER_DISKS

	if parts := in.GetSystemPartitionsToWipe(); len(parts) > 0 {
		if in.Mode == machine.ResetRequest_USER_DISKS {
			return nil, errors.New("reset failed: invalid input, wipe mode USER_DISKS doesn't support SystemPartitionsToWipe parameter")
		}

		wipeState = false

		for _, p := range parts {
			if !slices.Contains(systemPartitions, p.Label) {
				return nil, fmt.Errorf("failed to get volume status with label %q: resource VolumeStatuses.block.talos.dev(runtime/%s@undefined) doesn't exist", p.Label, p.Label)
			}

			wipeState = wipeState || (p.Label == "STATE" && p.Wipe)
		}
	}

	actor := uuid.New().String()
	log.Printf("reset request received. actorID: %s (graceful %v, reboot %v, mode %s, wipe STATE %v)",
		actor, in.Graceful, in.Reboot, in.Mode, wipeState)

	m := a.m
	if in.Graceful {
		m.cordon() // a worker leaves gracefully: cordon its Node (the lab runs no pods to drain)
	}

	if wipeState {
		if err := os.Remove(m.configPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}

		m.opts.userData = "" // a wiped cloud VM comes back without its user data being applied again
	}

	if in.Reboot {
		m.reboot()
	} else {
		m.powerOff()
	}

	return &machine.ResetResponse{Messages: []*machine.Reset{{Metadata: answeredBy(ctx), ActorId: actor}}}, nil
}

func (a *machineAPI) Reboot(ctx context.Context, _ *machine.RebootRequest) (*machine.RebootResponse, error) {
	actor := uuid.New().String()
	log.Printf("reboot via API received. actor id: %s", actor)
	a.m.reboot()

	return &machine.RebootResponse{Messages: []*machine.Reboot{{Metadata: answeredBy(ctx), ActorId: actor}}}, nil
}

func (a *machineAPI) Shutdown(ctx context.Context, _ *machine.ShutdownRequest) (*machine.ShutdownResponse, error) {
	actor := uuid.New().String()
	log.Printf("shutdown via API received. actor id: %s", actor)
	a.m.powerOff()

	return &machine.ShutdownResponse{Messages: []*machine.Shutdown{{Metadata: answeredBy(ctx), ActorId: actor}}}, nil
}

// -- changes of the running machine ------------------------------------------------------

func (m *machineState) reboot()   { m.endBoot(eventReboot) }
func (m *machineState) powerOff() { m.endBoot(eventPowerOff) }

func (m *machineState) endBoot(ev event) {
	m.mu.Lock()
	already := m.pending
	m.pending = true
	m.mu.Unlock()

	if !already {
		m.trigger(ev)
	}
}

// setRunning swaps the config in effect without a reboot (labels, taints, ... follow).
func (m *machineState) setRunning(cfg config.Provider) {
	m.mu.Lock()
	m.running = cfg
	if m.tryTimer != nil {
		m.tryTimer.Stop()
		m.tryTimer = nil
	}
	m.mu.Unlock()

	// As on a node, the resources (the running config among them) show the change once the apply answered.
	if err := m.res.sync(context.Background(), m); err != nil {
		log.Printf("resources: %v", err)
	}
}

// tryConfig runs cfg without persisting it and goes back to the disk's config after timeout.
func (m *machineState) tryConfig(cfg config.Provider, timeout time.Duration) {
	m.setRunning(cfg)

	m.mu.Lock()
	defer m.mu.Unlock()

	m.tryTimer = time.AfterFunc(timeout, func() {
		data, err := os.ReadFile(m.configPath())
		if err != nil {
			log.Printf("try mode: cannot read the persisted config to roll back: %v", err)

			return
		}

		old, err := configloader.NewFromBytes(data)
		if err != nil {
			log.Printf("try mode: the persisted config does not load: %v", err)

			return
		}

		log.Printf("try mode: the config was not confirmed in %s, rolling back", timeout)
		m.setRunning(old)
	})
}
