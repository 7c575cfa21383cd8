package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/siderolabs/talos/pkg/machinery/config"
	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/config/machine"
	"google.golang.org/grpc"
)

// Stages of the machine, as status.json names them for the lab.
const (
	stageMaintenance = "maintenance" // no config: insecure API, apply-config accepted
	stageBooting     = "booting"     // rebooting after an apply or a reset: API closed
	stageConfigured  = "configured"  // booted from a valid config: mutual TLS, Node joined
	stageError       = "error"       // the config it booted from failed validation
	stageOff         = "off"         // powered off by reset/shutdown; the process exits
)

// What ends one boot of the machine.
type event int

const (
	eventReboot event = iota
	eventPowerOff
)

// cloudMode is the validation mode of a cloud VM booted from a Talos image:
// nothing to install, not in a container (what `talosctl validate --mode cloud` uses).
type cloudMode struct{}

func (cloudMode) String() string        { return "cloud" }
func (cloudMode) RequiresInstall() bool { return false }
func (cloudMode) InContainer() bool     { return false }

type machineState struct {
	opts options

	mu       sync.Mutex
	running  config.Provider // the config in effect (nil in maintenance)
	stage    string
	message  string
	events   chan event
	pending  bool // an apply or reset already asked for a reboot
	tryTimer *time.Timer
	bootID   string

	res  *resources
	kube *kubeNode
}

func newMachine(opts options) (*machineState, error) {
	if err := os.MkdirAll(opts.stateDir, 0o700); err != nil {
		return nil, err
	}

	for _, a := range opts.listen {
		if net.ParseIP(a) == nil {
			return nil, fmt.Errorf("--listen %q is not an IP address", a)
		}
	}

	res, err := newResources()
	if err != nil {
		return nil, fmt.Errorf("resources: %w", err)
	}

	return &machineState{opts: opts, events: make(chan event, 1), res: res}, nil
}

func (m *machineState) configPath() string { return filepath.Join(m.opts.stateDir, "config.yaml") }

// loadBootConfig is what the machine boots from: the config on its disk, else its user data.
func (m *machineState) loadBootConfig() (config.Provider, error) {
	data, err := os.ReadFile(m.configPath())
	if errors.Is(err, os.ErrNotExist) && m.opts.userData != "" {
		data, err = os.ReadFile(m.opts.userData)
	}

	if errors.Is(err, os.ErrNotExist) {
		return nil, nil //nolint:nilnil // no config: maintenance mode
	}

	if err != nil {
		return nil, err
	}

	cfg, err := loadConfig(data)
	if err != nil {
		return nil, err
	}

	return cfg, m.persist(cfg)
}

// loadConfig loads and validates a machine config as a cloud node does.
func loadConfig(data []byte) (config.Provider, error) {
	cfg, err := configloader.NewFromBytes(data)
	if err != nil {
		return nil, err
	}

	if _, err := cfg.Validate(cloudMode{}); err != nil {
		return nil, err
	}

	return cfg, nil
}

func (m *machineState) persist(cfg config.Provider) error {
	data, err := cfg.Bytes()
	if err != nil {
		return err
	}

	return writeAtomic(m.configPath(), data, 0o600)
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}

	return os.Rename(tmp, path)
}

// setStage records the stage and tells the lab (status.json).
func (m *machineState) setStage(stage, message string) {
	m.mu.Lock()
	m.stage, m.message = stage, message
	node := m.nodeNameLocked()
	m.mu.Unlock()

	status := map[string]any{
		"stage": stage, "message": message, "pid": os.Getpid(), "talos_version": talosTag(),
		"updated": time.Now().UTC().Format(time.RFC3339Nano), "node": nil,
	}
	if node != "" {
		status["node"] = node
	}

	data, _ := json.MarshalIndent(status, "", "  ") //nolint:errchkjson
	if err := writeAtomic(filepath.Join(m.opts.stateDir, "status.json"), data, 0o644); err != nil {
		log.Printf("writing status.json: %v", err)
	}

	log.Printf("stage %s: %s", stage, message)
}

// nodeNameLocked is the Node name the running config asks for (HostnameConfig or
// machine.network.hostname, whichever layout the config uses), else the server name.
func (m *machineState) nodeNameLocked() string {
	if m.running == nil {
		return ""
	}

	if h := m.running.NetworkHostnameConfig(); h != nil && h.Hostname() != "" {
		return h.Hostname()
	}

	return m.opts.hostname
}

func (m *machineState) machineType() machine.Type {
	m.mu.Lock()
	defer m.mu.Unlock()

	if m.running == nil {
		return machine.TypeUnknown
	}

	return m.running.Machine().Type()
}

// run boots the machine again and again until it is powered off or the process is stopped.
func (m *machineState) run(ctx context.Context) error {
	for boot := 1; ; boot++ {
		m.mu.Lock()
		m.pending = false
		m.bootID = strconv.Itoa(boot)
		m.mu.Unlock()

		cfg, err := m.loadBootConfig()
		if err != nil {
			m.setStage(stageError, "the machine config is not valid: "+err.Error())
			<-ctx.Done()

			return nil
		}

		ev, err := m.serve(ctx, cfg)
		if err != nil {
			return err
		}

		switch {
		case ev == nil:
			return nil // stopped from outside: the machine keeps its disk, its Node is left to the lab
		case *ev == eventPowerOff:
			m.setStage(stageOff, "powered off")

			return nil
		}

		m.setStage(stageBooting, "rebooting")

		select {
		case <-ctx.Done():
			return nil
		case <-time.After(seconds(m.opts.rebootSeconds)):
		}
	}
}

// serve runs one boot: the API in the mode the config gives, the Node, the resources.
// It returns the event that ended the boot, or nil when ctx ended it.
func (m *machineState) serve(ctx context.Context, cfg config.Provider) (*event, error) {
	m.mu.Lock()
	m.running = cfg
	m.mu.Unlock()

	creds, err := m.credentials(cfg)
	if err != nil {
		m.setStage(stageError, "the machine's API certificate: "+err.Error())
		<-ctx.Done()

		return nil, nil //nolint:nilnil
	}

	srv := newGRPCServer(m, creds)

	var listeners []net.Listener

	for _, addr := range m.opts.listen {
		l, err := listenRetry(ctx, net.JoinHostPort(addr, strconv.Itoa(m.opts.port)))
		if err != nil {
			for _, o := range listeners {
				o.Close() //nolint:errcheck
			}

			return nil, err
		}

		listeners = append(listeners, l)
	}

	for _, l := range listeners {
		go srv.Serve(l) //nolint:errcheck
	}

	bootCtx, stopBoot := context.WithCancel(ctx)
	defer stopBoot()

	stage, message := stageMaintenance, "waiting for a machine config (talosctl apply-config --insecure)"
	if cfg != nil {
		stage, message = stageConfigured, "booted from its machine config"
		m.startKube(bootCtx)
	}

	// The resources show the new stage before the lab hears of it.
	m.mu.Lock()
	m.stage = stage
	m.mu.Unlock()

	if err := m.res.sync(bootCtx, m); err != nil {
		log.Printf("resources: %v", err)
	}

	m.setStage(stage, message)

	go m.res.keepFresh(bootCtx, m)

	var ev *event

	select {
	case <-ctx.Done():
	case e := <-m.events:
		ev = &e
	}

	stopBoot()
	m.stopKube()
	stopGRPC(srv)

	return ev, nil
}

// listenRetry binds the API port; after a reboot the old socket may linger a moment.
func listenRetry(ctx context.Context, addr string) (net.Listener, error) {
	deadline := time.Now().Add(10 * time.Second)

	for {
		l, err := net.Listen("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			return l, err
		}

		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func stopGRPC(srv *grpc.Server) {
	done := make(chan struct{})

	go func() { srv.GracefulStop(); close(done) }()

	select {
	case <-done:
	case <-time.After(3 * time.Second):
		srv.Stop()
	}
}

// trigger ends the current boot a moment after the answer to the request that asked for it left.
func (m *machineState) trigger(ev event) {
	go func() {
		time.Sleep(200 * time.Millisecond)
		m.events <- ev
	}()
}
