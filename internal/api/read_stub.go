package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// readStore is what the read endpoints need of the database.
type readStore interface{}

// registerRead adds the read endpoints (the change feed, activities,
// documents, decisions). Stubs until they are built.
func (h *Handler) registerRead(g *echo.Group) {
	notYet := func(c echo.Context) error {
		return problem(http.StatusNotImplemented, "this endpoint is not implemented yet")
	}
	g.GET("/activities", notYet)
	g.GET("/activities/:id", notYet)
	g.GET("/customers/:id/activities", notYet)
	g.GET("/documents/:id/content", notYet)
	g.GET("/decisions", notYet)
}
