// Package kubernetes is a build-time stand-in for the `kubernetes` package of
// github.com/siderolabs/go-kubernetes, which the Go module proxy reachable
// from our build machines refuses to serve (403 for every version).
//
// talosctl v1.13.9 uses only this surface of it (its own pkg/kubernetes wraps
// it); the compiler proves nothing more is needed once the upgrade-k8s
// command, the only user of the library's other packages, is left out.
// None of the config generation, patching and validation code that the
// collection and its tests use goes through here.
package kubernetes

import (
	"errors"
	"net"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"
)

// Client is a Kubernetes clientset, as in the upstream library.
type Client struct {
	*kubernetes.Clientset
}

// NewForConfig returns a Client for the given REST config.
func NewForConfig(config *restclient.Config) (*Client, error) {
	cs, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, err
	}

	return &Client{Clientset: cs}, nil
}

// Close releases the client's connections (none are pooled here).
func (c *Client) Close() error { return nil }

// IsRetryableError reports whether a Kubernetes API call may be retried:
// network errors and the API's transient status codes.
func IsRetryableError(err error) bool {
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}

	return apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) || apierrors.IsInternalError(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsTooManyRequests(err)
}
