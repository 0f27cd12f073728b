package api

import "github.com/labstack/echo/v4"

// authenticate checks the bearer key. (Skeleton: lets every request pass.)
func (h *Handler) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return next
}

// limitRate applies the key's rate limit. (Skeleton: no limit yet.)
func (h *Handler) limitRate(next echo.HandlerFunc) echo.HandlerFunc {
	return next
}
