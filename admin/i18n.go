package admin

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// langCookie remembers the language chosen with the toggle; without it the browser's
// Accept-Language decides, and English is the fallback.
const langCookie = "lang"

// languages are the catalogs in i18n/, the first being the fallback.
func languages() []string { return []string{"en", "ko"} }

// catalog is one language's text by key. T formats with fmt when given arguments.
type catalog map[string]string

// T returns the text of key; a missing key shows as itself, bracketed, and a test makes
// sure that no template uses one.
func (c catalog) T(key string, args ...any) string {
	s, ok := c[key]
	if !ok {
		return "[" + key + "]"
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// loadCatalogs reads the embedded catalogs and requires them to have the same keys, so
// that no page is half translated.
func loadCatalogs() (map[string]catalog, error) {
	out := map[string]catalog{}
	for _, lang := range languages() {
		data, err := files.ReadFile("i18n/" + lang + ".json")
		if err != nil {
			return nil, err
		}
		var c catalog
		if err := json.Unmarshal(data, &c); err != nil {
			return nil, fmt.Errorf("catalog %s: %w", lang, err)
		}
		out[lang] = c
	}
	base := out[languages()[0]]
	for _, lang := range languages()[1:] {
		for key := range base {
			if _, ok := out[lang][key]; !ok {
				return nil, fmt.Errorf("catalog %s lacks %q", lang, key)
			}
		}
		for key := range out[lang] {
			if _, ok := base[key]; !ok {
				return nil, fmt.Errorf("catalog %s has %q, which %s lacks", lang, key, languages()[0])
			}
		}
	}
	return out, nil
}

// lang picks the language of a request: the toggle's cookie, else the first language of
// Accept-Language (by q-value) that there is a catalog for, else the fallback.
func (h *Handler) lang(c echo.Context) string {
	if ck, err := c.Cookie(langCookie); err == nil {
		if _, ok := h.catalogs[ck.Value]; ok {
			return ck.Value
		}
	}
	type choice struct {
		lang string
		q    float64
	}
	var choices []choice
	for _, part := range strings.Split(c.Request().Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if slices.Contains(languages(), primary) && q > 0 {
			choices = append(choices, choice{primary, q})
		}
	}
	sort.SliceStable(choices, func(i, j int) bool { return choices[i].q > choices[j].q })
	if len(choices) > 0 {
		return choices[0].lang
	}
	return languages()[0]
}
