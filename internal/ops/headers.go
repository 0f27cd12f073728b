package ops

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"github.com/labstack/echo/v4"
)

// pageCSP is the policy of our own pages: no script at all, only the
// embedded stylesheet (by hash), forms to ourselves, never framed.
var pageCSP = "default-src 'none'; style-src '" + cspHash(stylesheet) + "'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets the headers every /ops answer carries. asynqmon's
// single-page app gets its own policy (see queues.go).
func (h *Handler) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		hd := c.Response().Header()
		csp := pageCSP
		if p := c.Request().URL.Path; (p == Prefix+"/queues" || strings.HasPrefix(p, Prefix+"/queues/")) && h.queues != nil {
			csp = h.queues.csp
		}
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		if h.deps.HTTPS {
			// Browsers heed it only over HTTPS; there it keeps them from
			// ever sending the session cookie in clear.
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		return next(c)
	}
}

// cspHash is the CSP source expression allowing exactly this inline
// script or style.
func cspHash(content string) string {
	sum := sha256.Sum256([]byte(content))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}
