package crmhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"
)

// ErrForbiddenTarget: the URL or the address it resolves to is one the
// connector does not send webhooks to without --allow-private (SSRF guard).
var ErrForbiddenTarget = errors.New("crmhook: forbidden webhook target")

// blocked are the ranges no webhook may reach without allow_private,
// beyond what netip's predicates cover (private, loopback, link-local,
// multicast, unspecified).
var blocked = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a \"this network\" address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT (shared) address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol assignment address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("64:ff9b::/96"), "a NAT64 address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a NAT64 address"},
	{netip.MustParsePrefix("2002::/16"), "a 6to4 address"},
	{netip.MustParsePrefix("2001::/32"), "a Teredo address"},
}

// checkAddr returns an error wrapping ErrForbiddenTarget when ip is not a
// public unicast address.
func checkAddr(ip netip.Addr) error {
	if what := forbidden(ip); what != "" {
		return fmt.Errorf("%w: %s is %s", ErrForbiddenTarget, ip.Unmap(), what)
	}
	return nil
}

// forbidden says what kind of non-public address ip is; "" for a public one.
func forbidden(ip netip.Addr) string {
	ip = ip.Unmap()
	var what string
	switch {
	case !ip.IsValid():
		what = "not an IP address"
	case ip.IsLoopback():
		what = "a loopback address"
	case ip.IsUnspecified():
		what = "the unspecified address"
	case ip.IsLinkLocalUnicast():
		what = "a link-local address"
	case ip.IsMulticast():
		what = "a multicast address"
	case ip.IsPrivate():
		if ip.Is6() {
			what = "a unique local (ULA) address"
		} else {
			what = "a private address"
		}
	case ip.Is4() && ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		what = "the broadcast address"
	default:
		for _, b := range blocked {
			if b.prefix.Contains(ip) {
				what = b.what
				break
			}
		}
	}
	return what
}

// dialControl is the net.Dialer's Control: it checks the address actually
// dialled, after DNS resolution, so that a name that resolves to a public
// address when checked and to a private one when used (DNS rebinding)
// does not pass.
func dialControl(_ context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse dialled address %q (%s): %w", ErrForbiddenTarget, address, network, err)
	}
	return checkAddr(ap.Addr())
}

// Resolver looks up a host's addresses (*net.Resolver).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// CheckURL validates an endpoint URL as `webhook add` does: an absolute
// http(s) URL without credentials; unless allowPrivate, https only, and
// every address the host resolves to must be public. The deliveries check
// again, on every connection, against the address dialled.
func CheckURL(ctx context.Context, raw string, allowPrivate bool, r Resolver) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("webhook URL %q: %w", raw, err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("webhook URL %q: the scheme must be https", raw)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("webhook URL %q has no host", raw)
	case u.User != nil:
		return nil, fmt.Errorf("webhook URL %q: credentials in the URL are not allowed (the signature authenticates the connector)", raw)
	case u.Fragment != "":
		return nil, fmt.Errorf("webhook URL %q: a fragment (#…) is never sent; remove it", raw)
	}
	if allowPrivate {
		return u, nil
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("%w: webhook URL %q uses plain http://; use https:// or pass --allow-private for a CRM on the local network", ErrForbiddenTarget, raw)
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if what := forbidden(ip); what != "" {
			return nil, fmt.Errorf("%w: webhook URL %q: %s is %s; pass --allow-private to allow it", ErrForbiddenTarget, raw, ip, what)
		}
		return u, nil
	}
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("webhook URL %q: resolving %s: %w", raw, host, err)
	}
	for _, ip := range addrs {
		if what := forbidden(ip); what != "" {
			return nil, fmt.Errorf("%w: webhook URL %q: %s resolves to %s, %s; pass --allow-private to allow it", ErrForbiddenTarget, raw, host, ip.Unmap(), what)
		}
	}
	return u, nil
}
