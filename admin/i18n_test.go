package admin_test

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"captcha/engine/service"
)

func TestLanguage(t *testing.T) {
	v := newEnv(t)
	for _, tc := range []struct {
		accept, cookie, want string
	}{
		{"", "", "Sign in to administration"},
		{"ko-KR,ko;q=0.9,en;q=0.8", "", "관리자 로그인"},
		{"en-US,en;q=0.9,ko;q=0.8", "", "Sign in to administration"},
		{"fr-FR, ko;q=0.5, en;q=0.4", "", "관리자 로그인"},
		{"en;q=0.2, ko;q=0.7", "", "관리자 로그인"},
		{"ko", "en", "Sign in to administration"},
		{"en", "ko", "관리자 로그인"},
		{"en", "xx", "Sign in to administration"},
	} {
		var cookies []*http.Cookie
		if tc.cookie != "" {
			cookies = []*http.Cookie{{Name: "lang", Value: tc.cookie}}
		}
		body := v.do(http.MethodGet, "/admin/login", nil, cookies, map[string]string{"Accept-Language": tc.accept}).Body.String()
		if !strings.Contains(body, tc.want) {
			t.Errorf("Accept-Language %q, cookie %q: not %q", tc.accept, tc.cookie, tc.want)
		}
	}

	// The toggle sets the cookie and goes back, but only to a page of this site.
	for next, want := range map[string]string{"/": "/", "/admin/apps?msg=saved": "/admin/apps?msg=saved",
		"/admin/login": "/admin/login", "https://evil.example/": "/admin", "//evil.example": "/admin"} {
		rec := v.do(http.MethodGet, "/lang/ko?next="+next, nil, nil, nil)
		ck := cookieNamed(rec, "lang")
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want || ck == nil || ck.Value != "ko" {
			t.Errorf("toggle to %q: %d to %q, cookie %v", next, rec.Code, rec.Header().Get("Location"), ck)
		}
	}
	if rec := v.do(http.MethodGet, "/lang/xx?next=/", nil, nil, nil); rec.Code != http.StatusNotFound {
		t.Errorf("an unknown language: %d", rec.Code)
	}
}

// Every key a template or the code names exists in both catalogs, which also have the same
// keys (New refuses them otherwise). The requests of the other tests check the rendered
// pages for keys shown untranslated.
func TestCatalogsCoverEveryKey(t *testing.T) {
	catalogs := map[string]map[string]string{}
	for _, lang := range []string{"en", "ko"} {
		data, err := os.ReadFile(filepath.Join("i18n", lang+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var c map[string]string
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatal(err)
		}
		catalogs[lang] = c
	}
	// Literal keys: .T "key" in templates; "area.key" strings in Go.
	tmplKey := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	goKey := regexp.MustCompile(`"((?:account|app|apps|dashboard|delete|demo|error|examples|flash|form|login|nav|period|preview|secret|stats)\.[a-z0-9_]+)"`)
	var found int
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, "_test.go") {
			return err
		}
		re := goKey
		switch filepath.Ext(path) {
		case ".html":
			re = tmplKey
		case ".go":
		default:
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(data), -1) {
			found++
			for lang, c := range catalogs {
				if _, ok := c[m[1]]; !ok {
					t.Errorf("%s uses %q, which the %s catalog lacks", path, m[1], lang)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 100 {
		t.Fatalf("found only %d keys: the patterns no longer match the code", found)
	}
	// Keys built at run time: the settings' choices and every API dialect.
	runtimeKeys := []string{"charset.alnum", "charset.digits", "charset.hangul", "difficulty.easy",
		"difficulty.normal", "difficulty.hard", "lang.en", "lang.ko"}
	for _, api := range service.APIs() {
		runtimeKeys = append(runtimeKeys, "api."+string(api))
	}
	for _, key := range runtimeKeys {
		for lang, c := range catalogs {
			if _, ok := c[key]; !ok {
				t.Errorf("the %s catalog lacks %q", lang, key)
			}
		}
	}
}
