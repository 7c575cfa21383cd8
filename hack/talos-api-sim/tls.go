package main

import (
	"bytes"
	"context"
	"crypto/tls"
	stdx509 "crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/siderolabs/crypto/x509"
	"github.com/siderolabs/talos/pkg/machinery/config"
	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/config/generate/secrets"
	yaml "go.yaml.in/yaml/v4"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Talos API roles, carried as the Organization of the client certificate.
const (
	roleAdmin  = "os:admin"
	roleReader = "os:reader"
)

// The calls that change the machine need os:admin; everything else reads.
var adminMethods = map[string]bool{
	"/machine.MachineService/ApplyConfiguration": true,
	"/machine.MachineService/Reset":              true,
	"/machine.MachineService/Reboot":             true,
	"/machine.MachineService/Shutdown":           true,
}

// credentials is the TLS of one boot: a self-signed certificate in maintenance
// mode (talosctl --insecure only), mutual TLS signed by the machine CA of the
// config once configured, so only a talosconfig of this cluster gets in.
func (m *machineState) credentials(cfg config.Provider) (credentials.TransportCredentials, error) {
	ips := make([]net.IP, 0, len(m.opts.listen))
	for _, a := range m.opts.listen {
		ips = append(ips, net.ParseIP(a))
	}

	if cfg == nil {
		ca, err := x509.NewSelfSignedCertificateAuthority(x509.Organization("talos"))
		if err != nil {
			return nil, err
		}

		pair, err := x509.NewKeyPair(ca, x509.IPAddresses(ips), x509.CommonName("maintenance-service"),
			x509.NotAfter(time.Now().Add(365*24*time.Hour)), x509.ExtKeyUsage([]stdx509.ExtKeyUsage{stdx509.ExtKeyUsageServerAuth}))
		if err != nil {
			return nil, err
		}

		return credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{*pair.Certificate}, MinVersion: tls.VersionTLS13}), nil
	}

	sec := cfg.Machine().Security()
	if sec == nil || sec.IssuingCA() == nil {
		return nil, errors.New("the config has no machine.ca")
	}

	issuer, err := m.issuingCA(cfg)
	if err != nil {
		return nil, err
	}

	ca, err := x509.NewCertificateAuthorityFromCertificateAndKey(issuer)
	if err != nil {
		return nil, err
	}

	names := []string{m.opts.hostname}
	if h := cfg.NetworkHostnameConfig(); h != nil && h.Hostname() != "" {
		names = append(names, h.Hostname())
	}

	pair, err := x509.NewKeyPair(ca, x509.IPAddresses(ips), x509.DNSNames(slices.Compact(names)),
		x509.CommonName(names[len(names)-1]), x509.NotAfter(time.Now().Add(365*24*time.Hour)),
		x509.ExtKeyUsage([]stdx509.ExtKeyUsage{stdx509.ExtKeyUsageServerAuth}))
	if err != nil {
		return nil, err
	}

	pool := stdx509.NewCertPool()
	for _, accepted := range sec.AcceptedCAs() {
		pool.AppendCertsFromPEM(accepted.Crt)
	}

	pool.AppendCertsFromPEM(sec.IssuingCA().Crt)

	return credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{*pair.Certificate},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS13,
	}), nil
}

// roles of the caller: from its verified client certificate; none in maintenance mode.
func roles(ctx context.Context) []string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}

	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 {
		return nil
	}

	var out []string

	for _, org := range info.State.VerifiedChains[0][0].Subject.Organization {
		if strings.HasPrefix(org, "os:") {
			out = append(out, org)
		}
	}

	return out
}

// authorize does what a node's authorizer does: in maintenance mode only apply-config
// and reads; once configured, changes need os:admin and reads any os: role.
func (m *machineState) authorize(ctx context.Context, method string) error {
	m.mu.Lock()
	maintenance := m.running == nil
	m.mu.Unlock()

	if maintenance {
		if adminMethods[method] && method != "/machine.MachineService/ApplyConfiguration" {
			return status.Error(codes.PermissionDenied, "not authorized")
		}

		return nil
	}

	r := roles(ctx)

	switch {
	case slices.Contains(r, roleAdmin):
		return nil
	case adminMethods[method] || len(r) == 0:
		return status.Error(codes.PermissionDenied, "not authorized")
	}

	return nil
}

func newGRPCServer(m *machineState, creds credentials.TransportCredentials) *grpc.Server {
	srv := grpc.NewServer(
		grpc.Creds(creds),
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := m.authorize(ctx, info.FullMethod); err != nil {
				return nil, err
			}

			if err := m.onlyMe(ctx); err != nil {
				return nil, err
			}

			return recoverUnary(ctx, req, info, h)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := m.authorize(ss.Context(), info.FullMethod); err != nil {
				return err
			}

			if err := m.onlyMe(ss.Context()); err != nil {
				return err
			}

			return h(srv, ss)
		}),
	)

	registerAPI(srv, m)

	return srv
}

// recoverUnary turns a crash of the simulator into an Internal error the caller sees
// (with the panic), never a dropped connection a retry would hide.
func recoverUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = status.Errorf(codes.Internal, "talos-api-sim crashed in %s: %v", info.FullMethod, p)
		}
	}()

	return h(ctx, req)
}

// issuingCA signs the machine's API certificate. A control plane config carries the
// machine CA's key; a worker's does not: a worker asks trustd on the control plane,
// which signs only for the cluster's token and CA (trustd given with --trustd).
func (m *machineState) issuingCA(cfg config.Provider) (*x509.PEMEncodedCertificateAndKey, error) {
	own := cfg.Machine().Security().IssuingCA()
	if len(own.Key) > 0 {
		return own, nil
	}

	if m.opts.trustd == "" {
		return nil, errors.New("a worker gets its API certificate from trustd, and this lab machine has none (--trustd)")
	}

	ca, token, err := loadTrustd(m.opts.trustd)
	if err != nil {
		return nil, fmt.Errorf("trustd: %w", err)
	}

	if ca == nil || !bytes.Equal(bytes.TrimSpace(ca.Crt), bytes.TrimSpace(own.Crt)) {
		return nil, errors.New("trustd refused: machine.ca is not this cluster's Talos CA")
	}

	if token == "" || token != cfg.Machine().Security().Token() {
		return nil, errors.New("trustd refused: machine.token is not this cluster's token")
	}

	return ca, nil
}

// loadTrustd reads what trustd signs with and accepts, at every request, as trustd reads its
// token from the control plane's live config: the OS CA and machine.token of a control plane's
// machine config (its STATE config.yaml, so a token rotated there is refused at once), or of a
// secrets bundle (tests without a control plane node).
func loadTrustd(path string) (*x509.PEMEncodedCertificateAndKey, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}

	var probe struct {
		TrustdInfo any `yaml:"trustdinfo"`
	}

	if yaml.Unmarshal(data, &probe) == nil && probe.TrustdInfo != nil {
		bundle, err := secrets.LoadBundle(path)
		if err != nil {
			return nil, "", err
		}

		if bundle.TrustdInfo == nil || bundle.Certs == nil {
			return nil, "", errors.New("the secrets bundle has no trustdinfo or certs")
		}

		return bundle.Certs.OS, bundle.TrustdInfo.Token, nil
	}

	cp, err := configloader.NewFromBytes(data)
	if err != nil {
		return nil, "", err
	}

	if !cp.Machine().Type().IsControlPlane() {
		return nil, "", fmt.Errorf("%s is a %s's config; trustd runs on a control plane", path, cp.Machine().Type())
	}

	return cp.Machine().Security().IssuingCA(), cp.Machine().Security().Token(), nil
}

// onlyMe refuses a call addressed to another node. A node's apid would forward it
// to that node; the lab's machines do not proxy, so they say so instead of
// answering for a node they are not.
func (m *machineState) onlyMe(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)

	m.mu.Lock()
	me := append([]string{m.opts.hostname, m.nodeNameLocked()}, m.opts.listen...)
	m.mu.Unlock()

	for _, key := range []string{"nodes", "node"} {
		for _, target := range md.Get(key) {
			if target != "" && !slices.Contains(me, target) {
				return status.Errorf(codes.Unimplemented,
					"this lab machine (%s) does not proxy to other nodes as apid does: %s must be the endpoint itself",
					strings.Join(m.opts.listen, ", "), target)
			}
		}
	}

	return nil
}
