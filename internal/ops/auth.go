package ops

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// ctxSession is the echo context key of the request's session.
const ctxSession = "ops.session"

// maxFormBytes bounds the body of the forms posted to /ops.
const maxFormBytes = 64 << 10

// loginPage is the data of login.html.
type loginPage struct {
	page
	Next  string
	Error string
}

// loginForm shows the login form, or goes on when already logged in.
func (h *Handler) loginForm(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if _, ok, _ := h.currentSession(c); ok {
		return c.Redirect(http.StatusSeeOther, next)
	}
	return h.renderLogin(c, http.StatusOK, next, "")
}

// renderLogin shows the form with a fresh login CSRF token in a cookie and
// a hidden field.
func (h *Handler) renderLogin(c echo.Context, status int, next, msg string) error {
	token := randomToken(32)
	c.SetCookie(cookie(loginCookie, token, Prefix+"/login", 3600, h.secure(c), true))
	return h.render(c, status, "login.html", loginPage{page: page{Title: "Log in", CSRF: token}, Next: next, Error: msg})
}

// login checks the password and starts a session. The CSRF check has
// already compared the form's token with the login cookie.
func (h *Handler) login(c echo.Context) error {
	next := safeNext(c.FormValue("next"))
	ip := clientKey(c)
	if ok, wait := h.limiter.allow(ip); !ok {
		h.log.Warn("ops login rate-limited", "client", ip)
		secs := int(wait.Seconds()) + 1
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return h.renderLogin(c, http.StatusTooManyRequests, next, fmt.Sprintf("Too many attempts. Try again in %d seconds.", secs))
	}
	ok, busy, err := h.verifyCapped(c.FormValue("password"))
	if busy {
		h.log.Warn("ops login refused: too many password checks at once", "client", ip)
		c.Response().Header().Set("Retry-After", "1")
		return h.renderLogin(c, http.StatusServiceUnavailable, next, "Too many logins at once. Try again in a moment.")
	}
	if err != nil {
		return fmt.Errorf("ops: login: %w", err)
	}
	if !ok {
		h.log.Warn("ops login failed: wrong password", "client", ip)
		return h.renderLogin(c, http.StatusUnauthorized, next, "Wrong password.")
	}
	content, _, err := h.password.current()
	if err != nil {
		return fmt.Errorf("ops: login: %w", err)
	}
	s := h.sessions.issue(h.sessions.fingerprint(content))
	secure := h.secure(c)
	c.SetCookie(cookie(sessionCookie, h.sessions.encode(s), Prefix, int(h.sessions.ttl.Seconds()), secure, true))
	c.SetCookie(cookie(loginCookie, "", Prefix+"/login", -1, secure, true))
	if h.deps.QueuesWritable {
		c.SetCookie(cookie(xsrfCookie, s.CSRF, Prefix+"/queues", int(h.sessions.ttl.Seconds()), secure, false))
	}
	h.log.Info("ops login", "client", ip, "session", s.ID[:8])
	return c.Redirect(http.StatusSeeOther, next)
}

// verifyCapped checks the password in one of the login slots, which cap
// the bcrypt checks running at once across all clients, so that many
// clients (or one behind many addresses) cannot keep every core busy.
// busy means no slot was free; the password was not checked then.
func (h *Handler) verifyCapped(password string) (ok, busy bool, err error) {
	select {
	case h.loginSlots <- struct{}{}:
		defer func() { <-h.loginSlots }()
	default:
		return false, true, nil
	}
	ok, err = h.password.verify(password)
	return ok, false, err
}

// logout ends the session, in every web process: the session is recorded
// as revoked in Redis. If that fails the operator is told, as the cookie
// would still be good elsewhere.
func (h *Handler) logout(c echo.Context) error {
	s, _ := c.Get(ctxSession).(session)
	secure := h.secure(c)
	c.SetCookie(cookie(sessionCookie, "", Prefix, -1, secure, true))
	c.SetCookie(cookie(xsrfCookie, "", Prefix+"/queues", -1, secure, false))
	if err := h.sessions.revoke(c.Request().Context(), s); err != nil {
		h.log.Error("ops logout failed", "client", clientKey(c), slog.Any("error", err))
		return echo.NewHTTPError(http.StatusServiceUnavailable, "the logout could not be recorded (Redis unreachable); try again")
	}
	h.log.Info("ops logout", "client", clientKey(c), "session", s.ID[:min(8, len(s.ID))])
	return c.Redirect(http.StatusSeeOther, Prefix+"/login")
}

// currentSession returns the request's valid session, if any. An error
// means validity could not be checked (Redis down); ok is false then.
func (h *Handler) currentSession(c echo.Context) (s session, ok bool, err error) {
	ck, err := c.Cookie(sessionCookie)
	if err != nil {
		return session{}, false, nil
	}
	s, err = h.sessions.decode(ck.Value)
	if err != nil {
		return session{}, false, nil
	}
	content, _, err := h.password.current()
	if err != nil {
		h.log.Error("ops: reading the password file", slog.Any("error", err))
		return session{}, false, nil
	}
	if !tokensEqual(s.Password, h.sessions.fingerprint(content)) {
		return session{}, false, nil // the password changed since the login
	}
	gone, err := h.sessions.revoked(c.Request().Context(), s)
	if err != nil {
		return session{}, false, err
	}
	if gone {
		return session{}, false, nil
	}
	return s, true, nil
}

// authenticate lets only requests with a valid session through, except to
// the login form. Others are sent to the form (page views) or answered 401.
func (h *Handler) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Path() == Prefix+"/login" {
			return next(c)
		}
		s, ok, err := h.currentSession(c)
		if err != nil {
			h.log.Error("ops: session refused", "client", clientKey(c), slog.Any("error", err))
			return echo.NewHTTPError(http.StatusServiceUnavailable, "the session cannot be checked (Redis unreachable); try again")
		}
		if !ok {
			if _, err := c.Cookie(sessionCookie); err == nil {
				c.SetCookie(cookie(sessionCookie, "", Prefix, -1, h.secure(c), true))
			}
			r := c.Request()
			if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !strings.HasPrefix(r.URL.Path, Prefix+"/queues/api") {
				return c.Redirect(http.StatusSeeOther, Prefix+"/login?next="+url.QueryEscape(r.URL.RequestURI()))
			}
			return echo.NewHTTPError(http.StatusUnauthorized, "log in at "+Prefix+"/login first")
		}
		c.Set(ctxSession, s)
		if h.deps.QueuesWritable && strings.HasPrefix(c.Request().URL.Path, Prefix+"/queues") {
			if ck, err := c.Cookie(xsrfCookie); err != nil || ck.Value != s.CSRF {
				c.SetCookie(cookie(xsrfCookie, s.CSRF, Prefix+"/queues", int(h.sessions.ttl.Seconds()), h.secure(c), false))
			}
		}
		return next(c)
	}
}

// checkCSRF refuses state-changing requests without the right token: the
// login form's (double submit with its cookie) or the session's, from the
// form field "csrf" or asynqmon's X-XSRF-TOKEN header. Cross-site requests
// are refused outright.
func (h *Handler) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
			return echo.NewHTTPError(http.StatusForbidden, "cross-site request refused")
		}
		if !strings.HasPrefix(r.URL.Path, Prefix+"/queues") {
			r.Body = http.MaxBytesReader(c.Response(), r.Body, maxFormBytes)
		}
		var want string
		if c.Path() == Prefix+"/login" {
			if ck, err := c.Cookie(loginCookie); err == nil {
				want = ck.Value
			}
		} else {
			s, _ := c.Get(ctxSession).(session)
			want = s.CSRF
		}
		got := r.Header.Get(xsrfHeader)
		if got == "" {
			got = c.FormValue("csrf")
		}
		if !tokensEqual(got, want) {
			h.log.Warn("ops: request without a valid CSRF token refused", "method", r.Method, "path", r.URL.Path, "client", clientKey(c))
			return echo.NewHTTPError(http.StatusForbidden, "missing or wrong CSRF token; reload the page and try again")
		}
		return next(c)
	}
}

// safeNext returns where to go after the login: a path under /ops, never
// another site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.Scheme != "" || u.Host != "" || u.User != nil ||
		strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") ||
		(u.Path != Prefix && !strings.HasPrefix(u.Path, Prefix+"/")) || strings.Contains(u.Path, "..") ||
		u.Path == Prefix+"/login" || u.Path == Prefix+"/logout" {
		return Prefix + "/"
	}
	return u.RequestURI()
}

// secure reports whether cookies get the Secure flag: always when the
// public URL is HTTPS (Deps.HTTPS), else when the request came over HTTPS
// (directly or, by its forwarding headers, through a proxy).
func (h *Handler) secure(c echo.Context) bool { return h.deps.HTTPS || c.Scheme() == "https" }
