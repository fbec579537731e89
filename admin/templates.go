package admin

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"captcha/engine/service"
)

// files holds the page templates (templates/, one file per page plus the shared layout and
// partials), the text catalogs (i18n/) and the stylesheet, script and icon (static/).
//
//go:embed templates i18n static
var files embed.FS

// pageData is what every page template gets; Data is the page's own.
type pageData struct {
	Title string // a catalog key
	Nav   string // the menu entry to highlight
	Data  any
	CSRF  string // the form token: the session's, or the sign-in form's

	// Filled in by render.
	L       catalog
	Lang    string
	Langs   []string
	Session *service.Session
	Next    string // where the language toggle comes back to
}

func (p *pageData) fill(h *Handler, c echo.Context) {
	p.Lang = h.lang(c)
	p.L = h.catalogs[p.Lang]
	p.Langs = languages()
	if s := sessionOf(c); s != nil {
		p.Session = s
		if p.CSRF == "" {
			p.CSRF = s.CSRFToken
		}
	}
	// Only a GET can be come back to; after a form post the toggle goes to the start page.
	switch {
	case c.Request().Method == http.MethodGet:
		p.Next = c.Request().URL.RequestURI()
	case strings.HasPrefix(c.Request().URL.Path, "/admin/login"):
		p.Next = "/admin/login"
	case strings.HasPrefix(c.Request().URL.Path, "/admin"):
		p.Next = "/admin"
	default:
		p.Next = "/"
	}
}

// parsePages parses each page in templates/ together with the layout and the partials, once.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(templateFuncs()).ParseFS(files, "templates/layout.html", "templates/partials/*.html", name)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		pages[base] = t
	}
	return pages, nil
}

func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"num":     formatCount,
		"percent": func(f float64) string { return strconv.FormatFloat(math.Round(f*1000)/10, 'f', -1, 64) + "%" },
		"seconds": formatSeconds,
		"f1":      func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
		"when":    func(t time.Time) string { return t.Local().Format("2006-01-02 15:04") },
	}
}

// formatCount groups digits by three: 1,234,567.
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// formatSeconds shows a solve time in seconds with at most two decimals: 1.5 s, 12 s.
func formatSeconds(d time.Duration) string {
	return strconv.FormatFloat(math.Round(d.Seconds()*100)/100, 'f', -1, 64) + " s"
}

// asset is a static file with its type and an ETag, so that browsers revalidate cheaply.
type asset struct {
	data        []byte
	contentType string
	etag        string
}

func loadAssets() (map[string]asset, error) {
	types := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
	entries, err := fs.ReadDir(files, "static")
	if err != nil {
		return nil, err
	}
	out := map[string]asset{}
	for _, e := range entries {
		ct, ok := types[path.Ext(e.Name())]
		if !ok {
			return nil, fmt.Errorf("static/%s: unknown file type", e.Name())
		}
		data, err := files.ReadFile("static/" + e.Name())
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		out[e.Name()] = asset{data: data, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return out, nil
}

func (h *Handler) serveAsset(c echo.Context) error {
	a, ok := h.assets[c.Param("name")]
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	hd := c.Response().Header()
	hd.Set("Cache-Control", "no-cache") // revalidate: an upgraded binary serves new files
	hd.Set("ETag", a.etag)
	if c.Request().Header.Get("If-None-Match") == a.etag {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, a.contentType, a.data)
}
