// Command cert-manager-controller runs cert-manager's controllers (v1.21.1) out of
// cluster against one apiserver: the ACME, CA and SelfSigned issuers, the
// Certificate and CertificateRequest controllers, the ACME orders and challenges
// controllers (DNS-01 with every provider cert-manager ships, HTTP-01 solver
// pods) and ingress-shim.
//
// cert-manager's own main (module github.com/cert-manager/cert-manager/cmd/controller)
// is not served by the module proxy this project builds from, so this is a small
// stand-in for its cmd/controller/app over the published packages of the main
// module: the same ContextFactory, the same controller constructors (registered
// by importing their packages) and the same defaults, without leader election,
// config file, metrics/healthz servers, Gateway API, Vault or Venafi.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager"
	"github.com/cert-manager/cert-manager/pkg/controller"
	dnsutil "github.com/cert-manager/cert-manager/pkg/issuer/acme/dns/util"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/cert-manager/cert-manager/pkg/util"

	// Controllers register themselves with controller.Known() when imported;
	// issuers with the issuer factory the (Cluster)Issuer controllers use.
	_ "github.com/cert-manager/cert-manager/pkg/controller/acmechallenges"
	_ "github.com/cert-manager/cert-manager/pkg/controller/acmeorders"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/ingresses"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/acme"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/metrics"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/acme"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

// version is the cert-manager release whose packages this links (set by -X too).
var version = "v1.21.1"

type options struct {
	kubeconfig, apiServer, namespace, clusterResourceNamespace string
	nameservers                                                []string
	nameserversOnly                                            bool
	solverImage                                                string
	controllers                                                []string
	workers                                                    int
	dns01CheckRetryPeriod                                      time.Duration
	defaultIssuerName, defaultIssuerKind                       string
	showVersion                                                bool
	logging                                                    *logsapi.LoggingConfiguration
}

func parse(args []string) (*options, error) {
	o := &options{logging: logsapi.NewLoggingConfiguration()}
	fs := pflag.NewFlagSet("cert-manager-controller", pflag.ContinueOnError)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the apiserver (in-cluster config when empty)")
	fs.StringVar(&o.apiServer, "master", "", "apiserver URL, overriding the kubeconfig's")
	fs.StringVar(&o.namespace, "namespace", "", "watch only this namespace (all when empty)")
	fs.StringVar(&o.clusterResourceNamespace, "cluster-resource-namespace", "kube-system",
		"namespace of the Secrets that ClusterIssuers refer to")
	fs.StringSliceVar(&o.nameservers, "dns01-recursive-nameservers", nil,
		"host:port of the nameservers that DNS-01 self-checks query")
	fs.BoolVar(&o.nameserversOnly, "dns01-recursive-nameservers-only", false,
		"check DNS-01 records only through --dns01-recursive-nameservers, never the zone's authoritative servers")
	fs.DurationVar(&o.dns01CheckRetryPeriod, "dns01-check-retry-period", 10*time.Second,
		"time between two DNS-01 propagation checks")
	fs.StringVar(&o.solverImage, "acme-http01-solver-image",
		"quay.io/jetstack/cert-manager-acmesolver:"+version, "image of the HTTP-01 solver pods")
	fs.StringSliceVar(&o.controllers, "controllers", []string{"*"},
		"controllers to run: '*' for all, 'name' to add one, '-name' to leave one out")
	fs.IntVar(&o.workers, "concurrent-workers", 5, "workers per controller")
	fs.StringVar(&o.defaultIssuerName, "default-issuer-name", "", "issuer of Ingresses annotated kubernetes.io/tls-acme")
	fs.StringVar(&o.defaultIssuerKind, "default-issuer-kind", "Issuer", "kind of that issuer")
	fs.BoolVar(&o.showVersion, "version", false, "print the version and exit")
	logf.AddFlags(o.logging, fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	for _, ns := range o.nameservers {
		if _, port, err := net.SplitHostPort(ns); err != nil || port == "" {
			return nil, fmt.Errorf("--dns01-recursive-nameservers: %q is not host:port", ns)
		}
	}
	if o.nameserversOnly && len(o.nameservers) == 0 {
		return nil, errors.New("--dns01-recursive-nameservers-only needs --dns01-recursive-nameservers")
	}
	if o.workers < 1 {
		return nil, fmt.Errorf("--concurrent-workers must be at least 1 (got %d)", o.workers)
	}
	return o, nil
}

// enabled resolves --controllers against the registered names, as upstream does.
func enabled(spec []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, s := range spec {
		name := strings.TrimPrefix(s, "-")
		if _, ok := controller.Known()[name]; !ok && name != "*" {
			return nil, fmt.Errorf("--controllers: unknown controller %q (known: %s)", name, strings.Join(known(), ", "))
		}
		switch {
		case s == "*":
			for n := range controller.Known() {
				out[n] = true
			}
		case strings.HasPrefix(s, "-"):
			delete(out, name)
		default:
			out[name] = true
		}
	}
	return out, nil
}

func known() []string {
	names := make([]string, 0, len(controller.Known()))
	for n := range controller.Known() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func contextOptions(o *options) controller.ContextOptions {
	quantity := func(s string) resource.Quantity { return resource.MustParse(s) }
	return controller.ContextOptions{
		Kubeconfig:         o.kubeconfig,
		APIServerHost:      o.apiServer,
		KubernetesAPIQPS:   20,
		KubernetesAPIBurst: 50,
		Namespace:          o.namespace,
		IssuerOptions: controller.IssuerOptions{
			ClusterResourceNamespace:        o.clusterResourceNamespace,
			ClusterIssuerAmbientCredentials: true,
		},
		ACMEOptions: controller.ACMEOptions{
			HTTP01SolverImage:                 o.solverImage,
			HTTP01SolverResourceRequestCPU:    quantity("10m"),
			HTTP01SolverResourceRequestMemory: quantity("64Mi"),
			HTTP01SolverResourceLimitsCPU:     quantity("100m"),
			HTTP01SolverResourceLimitsMemory:  quantity("64Mi"),
			ACMEHTTP01SolverRunAsNonRoot:      true,
			DNS01Nameservers:                  o.nameservers,
			DNS01CheckAuthoritative:           !o.nameserversOnly,
			DNS01CheckRetryPeriod:             o.dns01CheckRetryPeriod,
		},
		IngressShimOptions: controller.IngressShimOptions{
			DefaultIssuerName:                 o.defaultIssuerName,
			DefaultIssuerKind:                 o.defaultIssuerKind,
			DefaultIssuerGroup:                cmapi.GroupName,
			DefaultAutoCertificateAnnotations: []string{"kubernetes.io/tls-acme"},
		},
		CertificateOptions: controller.CertificateOptions{
			CopiedAnnotationPrefixes:                 []string{"*", "-kubectl.kubernetes.io/", "-fluxcd.io/", "-argocd.argoproj.io/"},
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
		},
		SchedulerOptions: controller.SchedulerOptions{MaxConcurrentChallenges: 60},
	}
}

func run(ctx context.Context, o *options) error {
	on, err := enabled(o.controllers)
	if err != nil {
		return err
	}
	if len(o.nameservers) == 0 {
		o.nameservers = dnsutil.RecursiveNameservers // /etc/resolv.conf's, as upstream
	}
	log := logf.FromContext(ctx)
	factory, err := controller.NewContextFactory(ctx, contextOptions(o))
	if err != nil {
		return err
	}
	base, err := factory.Build()
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, name := range known() {
		if !on[name] {
			continue
		}
		c, err := controller.Known()[name](factory)
		if err != nil {
			return fmt.Errorf("controller %s: %w", name, err)
		}
		log.V(logf.InfoLevel).Info("starting controller", "controller", name)
		g.Go(func() error { return c.Run(o.workers, ctx) })
	}
	base.SharedInformerFactory.Start(ctx.Done())
	base.KubeSharedInformerFactory.Start(ctx.Done())
	base.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())
	err = g.Wait()
	base.HTTP01ResourceMetadataInformersFactory.Shutdown()
	base.KubeSharedInformerFactory.Shutdown()
	base.SharedInformerFactory.Shutdown()
	return err
}

func main() {
	o, err := parse(os.Args[1:])
	if errors.Is(err, pflag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cert-manager-controller:", err)
		os.Exit(2)
	}
	if o.showVersion {
		fmt.Printf("cert-manager-controller %s (github.com/cert-manager/cert-manager packages)\n", version)
		return
	}
	util.AppVersion = version
	logf.InitLogs()
	defer logs.FlushLogs()
	if err := logf.ValidateAndApply(o.logging); err != nil {
		fmt.Fprintln(os.Stderr, "cert-manager-controller:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(logf.NewContext(ctx, logf.Log, "controller"), o); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "cert-manager-controller:", err)
		os.Exit(1)
	}
}
