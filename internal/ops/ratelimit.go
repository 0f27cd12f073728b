package ops

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// Login attempts per client: a burst of loginBurst, then one per loginEvery.
const (
	loginBurst = 5
	loginEvery = 12 * time.Second
	// limiterIdle: a client unseen this long starts afresh.
	limiterIdle = 10 * time.Minute
)

// loginLimiter rate-limits login attempts per client IP (IPv6 per /64),
// so that guessing the password is slow and bcrypt cannot be used to burn
// the CPU.
type loginLimiter struct {
	now func() time.Time

	mu        sync.Mutex
	clients   map[string]*client
	lastPrune time.Time
}

type client struct {
	lim      *rate.Limiter
	lastSeen time.Time
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{now: now, clients: map[string]*client{}}
}

// allow takes one attempt of the client; false means wait retryAfter.
func (l *loginLimiter) allow(key string) (ok bool, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastPrune) > time.Minute {
		l.lastPrune = now
		for k, c := range l.clients {
			if now.Sub(c.lastSeen) > limiterIdle {
				delete(l.clients, k)
			}
		}
	}
	c, found := l.clients[key]
	if !found {
		c = &client{lim: rate.NewLimiter(rate.Every(loginEvery), loginBurst)}
		l.clients[key] = c
	}
	c.lastSeen = now
	r := c.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// IPExtractor is the echo.IPExtractor for a server behind the reverse
// proxies in trusted (config trusted_proxies): the client is the nearest
// address in X-Forwarded-For that is not a trusted proxy. Nothing else is
// trusted — not loopback, not private networks — so a client cannot choose
// its rate-limit key by sending the header itself. Without trusted proxies
// the peer address is the client.
func IPExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// clientKey is the rate-limit key of the request's client. Forwarding
// headers count only when the server was told to trust them (echo's
// IPExtractor); otherwise anyone could pick a fresh key per attempt.
func clientKey(c echo.Context) string {
	ip := c.RealIP()
	if c.Echo().IPExtractor == nil {
		ip, _, _ = net.SplitHostPort(c.Request().RemoteAddr)
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}
