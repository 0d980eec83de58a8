package httpx

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP returns the address of the client: the one Wrap resolved, or
// outside Wrap the host of RemoteAddr (no proxy header is believed then).
func ClientIP(r *http.Request) string {
	if i := infoOf(r); i != nil {
		return i.clientIP
	}
	return clientIP(r, nil)
}

func remoteAddr(r *http.Request) (netip.Addr, string) {
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, host
	}
	a = a.Unmap()
	return a, a.String()
}

func trustedAddr(a netip.Addr, trusted []netip.Prefix) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP honours X-Forwarded-For and X-Real-IP only when the direct peer
// is a trusted proxy. X-Forwarded-For is read from the right: the first
// address that is not itself a trusted proxy is the client (addresses to
// its left were written by the client and may be forged).
func clientIP(r *http.Request, trusted []netip.Prefix) string {
	peer, s := remoteAddr(r)
	if !trustedAddr(peer, trusted) {
		return s
	}
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		parts := strings.Split(strings.Join(xff, ","), ",")
		for i := len(parts) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[i]))
			if err != nil {
				break
			}
			a = a.Unmap()
			if !trustedAddr(a, trusted) {
				return a.String()
			}
		}
	}
	if xr := strings.TrimSpace(r.Header.Get("X-Real-IP")); xr != "" {
		if a, err := netip.ParseAddr(xr); err == nil {
			return a.Unmap().String()
		}
	}
	return s
}
