// Package web serves the CAPTCHA APIs over HTTP with echo: the NHN-compatible and the
// Naver-compatible dialects, health and metrics.
package web

import (
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
)

// Options are what the HTTP layer needs from main.
type Options struct {
	Logger *slog.Logger
}

// New builds the router.
func New(o Options) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	return e
}
