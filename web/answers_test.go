package web_test

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"captcha/engine"
	"captcha/engine/service"
)

// dialect issues a key for an app, delivers its image, and sends one answer, the way a
// customer's backend and a browser would in one of the two API dialects.
type dialect struct {
	name    string
	api     service.API
	issue   func(h *harness, app *service.App, secret string) string
	deliver func(h *harness, app *service.App, key string)
	// answer sends answer and reports whether it passed; refused is true for a parameter
	// error (NHN -2, Naver false with responseTime -1).
	answer func(h *harness, app *service.App, secret, key, answer string) (passed, refused bool)
}

var dialects = []dialect{
	{
		name: "NHN",
		api:  service.NHN,
		issue: func(h *harness, app *service.App, _ string) string {
			return h.nhnKey(app)
		},
		deliver: func(h *harness, _ *service.App, key string) {
			if r := h.do("GET", "/captcha/v1.0/keys/"+key+"/img"); r.status != 200 {
				h.t.Fatalf("img: %d %s", r.status, r.body)
			}
		},
		answer: func(h *harness, app *service.App, _, key, answer string) (bool, bool) {
			r := h.do("GET", nhnVerifyPath(app.AppKey, key, answer))
			header, _ := r.json(h.t)["header"].(map[string]any)
			code, _ := header["resultCode"].(float64)
			if r.status != 200 || (code != 0 && code != -2 && code != -6) {
				h.t.Fatalf("verification of %q: %d %s", answer, r.status, r.body)
			}
			return code == 0, code == -2
		},
	},
	{
		name: "Naver",
		api:  service.Naver,
		issue: func(h *harness, app *service.App, secret string) string {
			r := h.do("GET", nkey+"?code=0", naverAuth(app, secret)...)
			key, _ := r.json(h.t)["key"].(string)
			if r.status != 200 || key == "" {
				h.t.Fatalf("nkey: %d %s", r.status, r.body)
			}
			return key
		},
		deliver: func(h *harness, app *service.App, key string) {
			if r := h.do("GET", "/captcha-bin/v1/ncaptcha?key="+key+"&X-NCP-APIGW-API-KEY-ID="+app.AppKey); r.status != 200 {
				h.t.Fatalf("ncaptcha: %d %s", r.status, r.body)
			}
		},
		answer: func(h *harness, app *service.App, secret, key, answer string) (bool, bool) {
			r := h.do("GET", naverCompare(nkey, key, answer), naverAuth(app, secret)...)
			m := r.json(h.t)
			result, ok := m["result"].(bool)
			if r.status != 200 || !ok {
				h.t.Fatalf("compare of %q: %d %s", answer, r.status, r.body)
			}
			return result, !result && m["responseTime"] == -1.0
		},
	},
}

// fullWidth is what an IME in full-width mode types for ASCII letters and digits.
func fullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if r > ' ' && r <= '~' {
			return r - '!' + '！'
		}
		return r
	}, s)
}

// TestMalformedAnswersUseNoAttempt walks answers that a person may send without meaning to
// through both dialects, with the default of one attempt: what no one can type is refused
// as a parameter error and leaves the key as it was; what is the right answer typed another
// way (full width, decomposed Hangul) passes.
func TestMalformedAnswersUseNoAttempt(t *testing.T) {
	cases := []struct {
		name    string
		charset engine.Charset
		typed   func(answer string) string
		passes  bool // else refused
	}{
		{"NUL", engine.Alnum, func(string) string { return "\x00" }, false},
		{"invalid UTF-8", engine.Alnum, func(string) string { return "\xFF\xFE" }, false},
		{"right answer then NUL", engine.Alnum, func(a string) string { return a + "\x00" }, false},
		{"right answer with a zero-width space inside", engine.Alnum, func(a string) string { return a[:2] + "\u200B" + a[2:] }, false},
		{"right Hangul answer with a zero-width space inside", engine.Hangul, func(a string) string {
			first := len(string([]rune(a)[0]))
			return a[:first] + "\u200B" + a[first:]
		}, false},
		{"right answer in full width", engine.Alnum, fullWidth, true},
		{"right answer in full-width lower case", engine.Alnum, func(a string) string { return fullWidth(strings.ToLower(a)) }, true},
		{"right Hangul answer as decomposed jamo", engine.Hangul, norm.NFD.String, true},
	}
	h := newHarness(t)
	type credentials struct {
		app    *service.App
		secret string
	}
	// Each dialect answers only its own apps: one app of each charset per dialect.
	hangul := service.DefaultAppSettings()
	hangul.Charset, hangul.Lang, hangul.Length = engine.Hangul, engine.Korean, 4
	apps := map[service.API]map[engine.Charset]credentials{}
	for _, d := range dialects {
		alnumApp, alnumSecret := h.createApp("alnum "+d.name, d.api, service.DefaultAppSettings())
		hangulApp, hangulSecret := h.createApp("hangul "+d.name, d.api, hangul)
		apps[d.api] = map[engine.Charset]credentials{
			engine.Alnum: {alnumApp, alnumSecret}, engine.Hangul: {hangulApp, hangulSecret}}
	}

	for _, d := range dialects {
		for _, tc := range cases {
			t.Run(d.name+"/"+tc.name, func(t *testing.T) {
				a := apps[d.api][tc.charset]
				key := d.issue(h, a.app, a.secret)
				d.deliver(h, a.app, key)
				right := h.answer(key)
				typed := tc.typed(right)
				if typed == right {
					t.Fatalf("the case sends the answer as drawn: %q", typed)
				}
				passed, refused := d.answer(h, a.app, a.secret, key, typed)
				k, err := h.db.KeyByID(context.Background(), key)
				if err != nil {
					t.Fatal(err)
				}
				if tc.passes {
					if !passed || k.Attempts != 1 || !k.Consumed {
						t.Fatalf("%q for %q: passed %v; key has %d attempts, used up %v", typed, right, passed, k.Attempts, k.Consumed)
					}
					return
				}
				if passed || !refused || k.Attempts != 0 || k.Consumed {
					t.Fatalf("%q: passed %v, refused %v; key has %d attempts, used up %v", typed, passed, refused, k.Attempts, k.Consumed)
				}
				// The key is as it was: the right answer still passes.
				if passed, _ := d.answer(h, a.app, a.secret, key, right); !passed {
					t.Fatalf("the right answer after %q did not pass", typed)
				}
			})
		}
	}
}
