package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// writeStore is what the master-data writes need of the database.
type writeStore interface{}

// registerWrite adds the master-data writes.
func (h *Handler) registerWrite(g *echo.Group) {
	notYet := func(c echo.Context) error {
		return problem(http.StatusNotImplemented, "this endpoint is not implemented yet")
	}
	for _, kind := range []string{"employees", "customers", "contacts", "leads", "opportunities"} {
		g.PUT("/"+kind+"/:id", notYet)
		g.DELETE("/"+kind+"/:id", notYet)
	}
	g.PUT("/settings/:key", notYet)
	g.POST("/import", notYet)
}
