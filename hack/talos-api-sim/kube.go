package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v4"
)

// kubeNode is the kubelet's part the lab needs: the Node registered with the
// name, labels, taints and addresses the config asks for, its Lease and Ready
// condition renewed every heartbeat, and nothing once the machine stops (so the
// Node goes NotReady when whoever watches leases says so).
type kubeNode struct {
	api    *kubeAPI
	cancel context.CancelFunc
	done   chan struct{}

	// registered: a kubelet registers its Node once per start; a Node deleted
	// afterwards (a decommission) stays deleted until the machine boots again.
	registered bool
}

// Annotations a node keeps of the labels and taints it put on its Node from the
// config, so it can remove them when the config drops them (as Talos does).
const (
	ownedLabelsAnnotation = "talos.dev/owned-labels"
	ownedTaintsAnnotation = "talos.dev/owned-taints"
)

func (m *machineState) startKube(ctx context.Context) {
	if m.opts.kubeconfig == "" {
		return
	}

	api, err := newKubeAPI(m.opts.kubeconfig)
	if err != nil {
		log.Printf("kubelet: %v", err)

		return
	}

	ctx, cancel := context.WithCancel(ctx)
	k := &kubeNode{api: api, cancel: cancel, done: make(chan struct{})}

	m.mu.Lock()
	m.kube = k
	m.mu.Unlock()

	go func() {
		defer close(k.done)

		for {
			if err := m.heartbeat(ctx, k); err != nil && ctx.Err() == nil {
				log.Printf("kubelet: %v", err)
			}

			select {
			case <-ctx.Done():
				return
			case <-time.After(seconds(m.opts.heartbeatSeconds)):
			}
		}
	}()
}

func (m *machineState) stopKube() {
	m.mu.Lock()
	k := m.kube
	m.kube = nil
	m.mu.Unlock()

	if k != nil {
		k.cancel()
		<-k.done
	}
}

// cordon marks the Node unschedulable (a graceful reset).
func (m *machineState) cordon() {
	m.mu.Lock()
	k, node := m.kube, m.nodeNameLocked()
	m.mu.Unlock()

	if k == nil || node == "" {
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := k.api.do(ctx, http.MethodPatch, "/api/v1/nodes/"+node, "application/merge-patch+json",
		map[string]any{"spec": map[string]any{"unschedulable": true}}, nil); err != nil {
		log.Printf("cordon %s: %v", node, err)
	}
}

// heartbeat registers the Node when it is missing, brings its labels and taints in
// line with the config, renews its Lease and posts Ready.
func (m *machineState) heartbeat(ctx context.Context, k *kubeNode) error {
	api := k.api

	m.mu.Lock()
	cfg, node := m.running, m.nodeNameLocked()
	m.mu.Unlock()

	if cfg == nil || node == "" {
		return nil
	}

	nodeCfg := cfg.K8sNodeConfig()
	labels, taints := map[string]string{}, map[string]string{}

	if nodeCfg != nil {
		maps.Copy(labels, nodeCfg.Labels())
		maps.Copy(taints, nodeCfg.Taints())
	}

	var current struct {
		Metadata struct {
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
			UID         string            `json:"uid"`
		} `json:"metadata"`
		Spec struct {
			Taints []map[string]any `json:"taints"`
		} `json:"spec"`
	}

	err := api.do(ctx, http.MethodGet, "/api/v1/nodes/"+node, "", nil, &current)

	var notFound *kubeError
	if errors.As(err, &notFound) && notFound.code == http.StatusNotFound && k.registered {
		log.Printf("kubelet: Node %s was deleted; it is registered again on the next boot", node)

		return nil
	}

	if errors.As(err, &notFound) && notFound.code == http.StatusNotFound {
		body := map[string]any{"apiVersion": "v1", "kind": "Node", "metadata": map[string]any{
			"name": node,
			"labels": map[string]string{
				"kubernetes.io/hostname": node, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
				"beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
			},
		}}
		if err := api.do(ctx, http.MethodPost, "/api/v1/nodes", "application/json", body, &current); err != nil {
			return fmt.Errorf("registering Node %s: %w", node, err)
		}

		log.Printf("kubelet: registered Node %s", node)
	} else if err != nil {
		return err
	}

	k.registered = true

	if err := api.do(ctx, http.MethodPatch, "/api/v1/nodes/"+node, "application/merge-patch+json",
		nodePatch(current.Metadata.Labels, current.Metadata.Annotations, current.Spec.Taints, labels, taints), nil); err != nil {
		return fmt.Errorf("labels and taints of Node %s: %w", node, err)
	}

	if err := m.renewLease(ctx, api, node, current.Metadata.UID); err != nil {
		return err
	}

	now := time.Now().UTC().Format(time.RFC3339)
	addresses := []map[string]string{{"type": "Hostname", "address": node}}

	for _, a := range m.addresses() {
		addresses = append(addresses, map[string]string{"type": "InternalIP", "address": a.String()},
			map[string]string{"type": "ExternalIP", "address": a.String()})
	}

	// what a kubelet reports of its machine: without capacity the scheduler places no pod here
	resources := map[string]string{"cpu": "2", "memory": "4Gi", "pods": "110", "ephemeral-storage": "20Gi"}
	status := map[string]any{"status": map[string]any{
		"addresses": addresses, "capacity": resources, "allocatable": resources,
		"conditions": []map[string]string{{
			"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
			"lastHeartbeatTime": now, "lastTransitionTime": now,
		}},
		"nodeInfo": map[string]string{
			"osImage": "Talos (" + talosTag() + ", lab)", "operatingSystem": "linux", "architecture": "amd64",
			"kubeletVersion": "lab", "machineID": m.nodeID(), "systemUUID": m.nodeID(), "bootID": m.bootID,
			"kernelVersion": "lab", "containerRuntimeVersion": "lab://0", "kubeProxyVersion": "",
		},
	}}

	return api.do(ctx, http.MethodPatch, "/api/v1/nodes/"+node+"/status", "application/strategic-merge-patch+json", status, nil)
}

// nodePatch is the merge patch that makes the config's labels and taints the
// Node's, removing those the node put there before and the config no longer has.
func nodePatch(curLabels, curAnnotations map[string]string, curTaints []map[string]any, labels, taints map[string]string) map[string]any {
	var ownedLabels, ownedTaints []string

	json.Unmarshal([]byte(curAnnotations[ownedLabelsAnnotation]), &ownedLabels) //nolint:errcheck
	json.Unmarshal([]byte(curAnnotations[ownedTaintsAnnotation]), &ownedTaints) //nolint:errcheck

	labelPatch := map[string]any{}

	for _, k := range ownedLabels {
		if _, keep := labels[k]; !keep {
			labelPatch[k] = nil
		}
	}

	for k, v := range labels {
		if curLabels[k] != v {
			labelPatch[k] = v
		}
	}

	// taints: keep those the node does not own, then the config's (value:Effect or :Effect)
	newTaints := []map[string]any{}

	for _, t := range curTaints {
		key, _ := t["key"].(string) //nolint:errcheck
		if _, mine := taints[key]; !mine && !slices.Contains(ownedTaints, key) {
			newTaints = append(newTaints, t)
		}
	}

	keys := slices.Sorted(maps.Keys(taints))
	for _, k := range keys {
		value, effect, found := strings.Cut(taints[k], ":")
		if !found {
			value, effect = "", taints[k]
		}

		t := map[string]any{"key": k, "effect": effect}
		if value != "" {
			t["value"] = value
		}

		newTaints = append(newTaints, t)
	}

	labelKeys := slices.Sorted(maps.Keys(labels))
	ownedL, _ := json.Marshal(labelKeys) //nolint:errchkjson
	ownedT, _ := json.Marshal(keys)      //nolint:errchkjson

	sort.SliceStable(newTaints, func(i, j int) bool { return fmt.Sprint(newTaints[i]["key"]) < fmt.Sprint(newTaints[j]["key"]) })

	return map[string]any{
		"metadata": map[string]any{
			"labels":      labelPatch,
			"annotations": map[string]string{ownedLabelsAnnotation: string(ownedL), ownedTaintsAnnotation: string(ownedT)},
		},
		"spec": map[string]any{"taints": newTaints},
	}
}

func (m *machineState) renewLease(ctx context.Context, api *kubeAPI, node, uid string) error {
	path := "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" + node
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00")
	spec := map[string]any{"holderIdentity": node, "leaseDurationSeconds": 40, "renewTime": now}

	err := api.do(ctx, http.MethodPatch, path, "application/merge-patch+json", map[string]any{"spec": spec}, nil)

	var ke *kubeError
	if errors.As(err, &ke) && ke.code == http.StatusNotFound {
		body := map[string]any{"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": map[string]any{
			"name": node, "namespace": "kube-node-lease",
			"ownerReferences": []map[string]any{{"apiVersion": "v1", "kind": "Node", "name": node, "uid": uid}},
		}, "spec": spec}

		err = api.do(ctx, http.MethodPost, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", "application/json", body, nil)
	}

	if err != nil {
		return fmt.Errorf("Lease of %s: %w", node, err)
	}

	return nil
}

// -- a minimal Kubernetes REST client (the kubeconfig's first cluster and user) --------------

type kubeAPI struct {
	server string
	token  string
	client *http.Client
}

type kubeError struct {
	code int
	body string
}

func (e *kubeError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.code, e.body) }

type kubeconfigFile struct {
	Clusters []struct {
		Cluster struct {
			Server                   string `yaml:"server"`
			CertificateAuthority     string `yaml:"certificate-authority"`
			CertificateAuthorityData string `yaml:"certificate-authority-data"`
		} `yaml:"cluster"`
	} `yaml:"clusters"`
	Users []struct {
		User struct {
			Token                 string `yaml:"token"`
			ClientCertificateData string `yaml:"client-certificate-data"`
			ClientKeyData         string `yaml:"client-key-data"`
		} `yaml:"user"`
	} `yaml:"users"`
}

func newKubeAPI(path string) (*kubeAPI, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}

	var kc kubeconfigFile
	if err := yaml.Unmarshal(data, &kc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}

	if len(kc.Clusters) == 0 || len(kc.Users) == 0 {
		return nil, fmt.Errorf("%s: no cluster or no user", path)
	}

	c, u := kc.Clusters[0].Cluster, kc.Users[0].User
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}

	ca := []byte(nil)
	if c.CertificateAuthorityData != "" {
		ca, err = base64.StdEncoding.DecodeString(c.CertificateAuthorityData)
	} else if c.CertificateAuthority != "" {
		ca, err = os.ReadFile(c.CertificateAuthority)
	}

	if err != nil {
		return nil, fmt.Errorf("%s: the cluster CA: %w", path, err)
	}

	if ca != nil {
		tlsConfig.RootCAs = x509.NewCertPool()
		tlsConfig.RootCAs.AppendCertsFromPEM(ca)
	}

	if u.ClientCertificateData != "" {
		crt, err1 := base64.StdEncoding.DecodeString(u.ClientCertificateData)
		key, err2 := base64.StdEncoding.DecodeString(u.ClientKeyData)

		pair, err3 := tls.X509KeyPair(crt, key)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("%s: the client certificate: %w", path, err)
		}

		tlsConfig.Certificates = []tls.Certificate{pair}
	}

	return &kubeAPI{
		server: strings.TrimRight(c.Server, "/"), token: u.Token,
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}},
	}, nil
}

func (k *kubeAPI) do(ctx context.Context, method, path, contentType string, body, out any) error {
	var reader io.Reader

	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}

		reader = bytes.NewReader(data)
	}

	req, err := http.NewRequestWithContext(ctx, method, k.server+path, reader)
	if err != nil {
		return err
	}

	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}

	req.Header.Set("Accept", "application/json")

	if k.token != "" {
		req.Header.Set("Authorization", "Bearer "+k.token)
	}

	resp, err := k.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close() //nolint:errcheck

	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}

	if resp.StatusCode >= 300 {
		return &kubeError{code: resp.StatusCode, body: strings.TrimSpace(string(data))}
	}

	if out != nil {
		return json.Unmarshal(data, out)
	}

	return nil
}
