package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// peerName is one entry of the peers file: who a WireGuard peer is (the lab's
// stand-in for Talos discovery; the link state itself comes from the kernel).
type peerName struct {
	PublicKey string `json:"publicKey"`
	Label     string `json:"label"`
	Endpoint  string `json:"endpoint"`
}

func readPeers(path string) ([]peerName, error) {
	if path == "" {
		return nil, nil
	}

	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}

	var peers []peerName
	if err := json.Unmarshal(data, &peers); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}

	return peers, nil
}

type wgPeer struct {
	endpoint  netip.AddrPort
	handshake time.Time
	rx, tx    int64
}

type wgLink struct {
	publicKey string
	peers     map[string]wgPeer
	since     time.Time // when the simulator first saw the link
}

var (
	linkSeenMu sync.Mutex
	linkSeen   = map[string]time.Time{}
)

// wgShow parses `wg show IF dump`: the interface line, then one tab-separated line per peer
// (public key, preshared key, endpoint, allowed ips, latest handshake, rx, tx, keepalive).
func wgShow(ctx context.Context, ifname string) (*wgLink, error) {
	out, err := exec.CommandContext(ctx, "wg", "show", ifname, "dump").Output()
	if err != nil {
		return nil, fmt.Errorf("wg show %s dump: %w", ifname, err)
	}

	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	iface := strings.Split(lines[0], "\t")

	if len(iface) < 2 {
		return nil, fmt.Errorf("unexpected `wg show %s dump` output %q", ifname, lines[0])
	}

	linkSeenMu.Lock()
	if _, ok := linkSeen[ifname]; !ok {
		linkSeen[ifname] = time.Now()
	}
	since := linkSeen[ifname]
	linkSeenMu.Unlock()

	link := &wgLink{publicKey: iface[1], peers: map[string]wgPeer{}, since: since}

	for _, line := range lines[1:] {
		f := strings.Split(line, "\t")
		if len(f) < 8 {
			return nil, fmt.Errorf("unexpected `wg show %s dump` peer line %q", ifname, line)
		}

		var p wgPeer
		p.endpoint, _ = netip.ParseAddrPort(f[2]) //nolint:errcheck // "(none)" before the first packet

		if secs, _ := strconv.ParseInt(f[4], 10, 64); secs > 0 { //nolint:errcheck
			p.handshake = time.Unix(secs, 0)
		}

		p.rx, _ = strconv.ParseInt(f[5], 10, 64) //nolint:errcheck
		p.tx, _ = strconv.ParseInt(f[6], 10, 64) //nolint:errcheck
		link.peers[f[0]] = p
	}

	return link, nil
}
