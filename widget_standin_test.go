package main

// A stand-in for the widget's endpoints of the wire contract (/work/notes/widget-contract.md),
// on the NHN dialect's service calls, so that the browser side is tested before the server
// side (branch widget-server) lands. It goes, with createWidgetApp below, when that branch
// is merged: the browser tests then run on the real endpoints.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"mime"
	"path"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"captcha/engine/service"
	"captcha/web/widgetui"
)

type fakeToken struct {
	used          bool
	action, cdata string
	at            time.Time
}

func createWidgetApp(t *testing.T, svc *service.Service, name string, settings service.AppSettings, hosts []string) (*service.App, string) {
	app, secret, err := svc.CreateApp(context.Background(), name, service.NHN, settings)
	if err != nil {
		t.Fatal(err)
	}
	return app, secret
}

func mountFakeWidget(e *echo.Echo, svc *service.Service) {
	var mu sync.Mutex
	tokens := map[string]*fakeToken{}
	cors := func(c echo.Context) {
		if o := c.Request().Header.Get("Origin"); o != "" {
			c.Response().Header().Set("Access-Control-Allow-Origin", o)
			c.Response().Header().Set("Vary", "Origin")
			c.Response().Header().Set("Access-Control-Allow-Headers", "Content-Type")
			c.Response().Header().Set("Access-Control-Allow-Methods", "POST")
		}
	}
	e.GET("/api.js", func(c echo.Context) error {
		b, _ := fs.ReadFile(widgetui.FS, "api.js")
		return c.Blob(200, "application/javascript; charset=utf-8", b)
	})
	e.GET("/widget/ui/:file", func(c echo.Context) error {
		b, err := fs.ReadFile(widgetui.FS, c.Param("file"))
		if err != nil {
			return c.NoContent(404)
		}
		return c.Blob(200, mime.TypeByExtension(path.Ext(c.Param("file"))), b)
	})
	app := func(c echo.Context, sitekey string) (*service.App, error) {
		return svc.App(c.Request().Context(), service.NHN, sitekey)
	}
	for _, p := range []string{"/widget/v1/challenge", "/widget/v1/answer"} {
		e.OPTIONS(p, func(c echo.Context) error { cors(c); return c.NoContent(204) })
	}
	e.POST("/widget/v1/challenge", func(c echo.Context) error {
		cors(c)
		var req struct{ Sitekey string }
		c.Bind(&req)
		a, err := app(c, req.Sitekey)
		if err != nil {
			return c.JSON(403, map[string]string{"error": "invalid-sitekey"})
		}
		k, err := svc.IssueKey(c.Request().Context(), a)
		if err != nil {
			return err
		}
		return c.JSON(200, map[string]any{"challenge": k.ID, "image": "/widget/v1/image/" + k.ID, "audio": "/widget/v1/audio/" + k.ID,
			"length": len([]rune(k.Answer)), "expires_in": int(a.Settings.KeyLifetime.Seconds()), "audio_lang": a.Settings.Lang})
	})
	e.GET("/widget/v1/image/:key", func(c echo.Context) error {
		ch, err := svc.KeyImage(c.Request().Context(), service.NHN, c.Param("key"), "", "")
		if err != nil {
			return c.JSON(404, map[string]string{"error": "expired"})
		}
		return c.Blob(200, "image/jpeg", ch.Data)
	})
	e.GET("/widget/v1/audio/:key", func(c echo.Context) error {
		ch, err := svc.KeyAudio(c.Request().Context(), service.NHN, c.Param("key"), "", "")
		if err != nil {
			return c.JSON(404, map[string]string{"error": "expired"})
		}
		return c.Blob(200, "audio/wav", ch.Data)
	})
	e.POST("/widget/v1/answer", func(c echo.Context) error {
		cors(c)
		var req struct{ Sitekey, Challenge, Answer, Action, Cdata string }
		c.Bind(&req)
		a, err := app(c, req.Sitekey)
		if err != nil {
			return c.JSON(403, map[string]string{"error": "invalid-sitekey"})
		}
		_, err = svc.Verify(c.Request().Context(), a, req.Challenge, req.Answer, service.NoChannel)
		switch {
		case err == nil:
		case errors.Is(err, service.ErrWrongAnswer):
			return c.JSON(200, map[string]any{"success": false, "error": "wrong-answer"})
		default:
			return c.JSON(200, map[string]any{"success": false, "error": "expired"})
		}
		b := make([]byte, 20)
		rand.Read(b)
		tok := hex.EncodeToString(b)
		mu.Lock()
		tokens[tok] = &fakeToken{action: req.Action, cdata: req.Cdata, at: time.Now()}
		mu.Unlock()
		return c.JSON(200, map[string]any{"success": true, "token": tok, "expires_in": 300})
	})
	e.POST("/siteverify", func(c echo.Context) error {
		mu.Lock()
		defer mu.Unlock()
		tk := tokens[c.FormValue("response")]
		if tk == nil {
			return c.JSON(200, map[string]any{"success": false, "error-codes": []string{"invalid-input-response"}})
		}
		if tk.used {
			return c.JSON(200, map[string]any{"success": false, "error-codes": []string{"timeout-or-duplicate"}})
		}
		tk.used = true
		return c.JSON(200, map[string]any{"success": true, "hostname": "localhost", "challenge_ts": tk.at.UTC().Format(time.RFC3339),
			"error-codes": []string{}, "action": tk.action, "cdata": tk.cdata})
	})
}
