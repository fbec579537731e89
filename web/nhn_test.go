package web_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"captcha/engine/service"
	"captcha/web"
)

func nhnIssuePath(appKey string) string { return "/captcha/v1.0/appkeys/" + appKey + "/keys" }

func nhnVerifyPath(appKey, key, answer string) string {
	return fmt.Sprintf("/captcha/v1.0/appkeys/%s/keys/%s/verification?answer=%s", appKey, key, url.QueryEscape(answer))
}

// nhnKey issues a key for app through the API.
func (h *harness) nhnKey(app *service.App) string {
	h.t.Helper()
	r := h.do("POST", nhnIssuePath(app.AppKey), "Content-Type", "application/json")
	key, _ := r.json(h.t)["key"].(string)
	if r.status != 200 || key == "" {
		h.t.Fatalf("issue: %d %s", r.status, r.body)
	}
	return key
}

// nhnServed issues a key and fetches its image, as a browser would.
func (h *harness) nhnServed(app *service.App) string {
	h.t.Helper()
	key := h.nhnKey(app)
	if r := h.do("GET", "/captcha/v1.0/keys/"+key+"/img"); r.status != 200 {
		h.t.Fatalf("img: %d %s", r.status, r.body)
	}
	return key
}

// checkNHN asserts the HTTP status and the header of an NHN reply.
func checkNHN(t *testing.T, r reply, status, code int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("HTTP %d, want %d; body %s", r.status, status, r.body)
	}
	header, ok := r.json(t)["header"].(map[string]any)
	if !ok {
		t.Fatalf("no header in %s", r.body)
	}
	if got, _ := header["resultCode"].(float64); int(got) != code {
		t.Fatalf("resultCode %v, want %d; body %s", header["resultCode"], code, r.body)
	}
	ok = code == 0
	if header["isSuccessful"] != ok || header["successful"] != ok {
		t.Fatalf("isSuccessful/successful do not say %v: %s", ok, r.body)
	}
	if msg, _ := header["resultMessage"].(string); msg == "" {
		t.Fatalf("no resultMessage: %s", r.body)
	}
}

// TestNHN walks every endpoint of the NHN dialect through every result code it can give.
func TestNHN(t *testing.T) {
	long := strings.Repeat("A", service.MaxAnswerLength+1)
	cases := []struct {
		name   string
		run    func(h *harness) reply
		status int
		code   int
	}{
		// Issuance.
		{"issue", func(h *harness) reply { return h.do("POST", nhnIssuePath(h.app.AppKey)) }, 200, 0},
		{"issue for an unknown appkey", func(h *harness) reply {
			return h.do("POST", nhnIssuePath("0123456789abcdef0123456789abcdef"))
		}, 200, -4},
		{"issue for a malformed appkey", func(h *harness) reply { return h.do("POST", nhnIssuePath("x%27%20OR%201=1")) }, 200, -4},
		{"issue for a disabled app", func(h *harness) reply { return h.do("POST", nhnIssuePath(h.disabled.AppKey)) }, 200, -4},
		{"issue with GET", func(h *harness) reply { return h.do("GET", nhnIssuePath(h.app.AppKey)) }, 405, -3},

		// Image and sound.
		{"image of an unknown key", func(h *harness) reply { return h.do("GET", "/captcha/v1.0/keys/AAAAAAAAAAAAAAAAAAAAAA/img") }, 404, -7},
		{"image of a malformed key", func(h *harness) reply { return h.do("GET", "/captcha/v1.0/keys/%00%FF/img") }, 404, -7},
		{"image of an expired key", func(h *harness) reply {
			key := h.nhnKey(h.app)
			h.clock.Advance(service.DefaultKeyLifetime)
			return h.do("GET", "/captcha/v1.0/keys/"+key+"/img")
		}, 410, -5},
		{"image of a used key", func(h *harness) reply {
			key := h.nhnServed(h.app)
			h.do("GET", nhnVerifyPath(h.app.AppKey, key, h.answer(key)))
			return h.do("GET", "/captcha/v1.0/keys/"+key+"/img")
		}, 410, -5},
		{"image of a disabled app's key", func(h *harness) reply {
			key := h.nhnKey(h.app)
			h.svc.SetAppEnabled(t.Context(), h.app.AppKey, false)
			return h.do("GET", "/captcha/v1.0/keys/"+key+"/img")
		}, 404, -4},
		{"sound of an unknown key", func(h *harness) reply { return h.do("GET", "/captcha/v1.0/keys/AAAAAAAAAAAAAAAAAAAAAA/sound") }, 404, -7},
		{"sound of an expired key", func(h *harness) reply {
			key := h.nhnKey(h.app)
			h.clock.Advance(service.DefaultKeyLifetime + time.Minute)
			return h.do("GET", "/captcha/v1.0/keys/"+key+"/sound")
		}, 410, -5},

		// Verification.
		{"right answer", func(h *harness) reply {
			key := h.nhnServed(h.app)
			return h.do("GET", nhnVerifyPath(h.app.AppKey, key, h.answer(key)))
		}, 200, 0},
		{"right answer in lower case with spaces", func(h *harness) reply {
			key := h.nhnServed(h.app)
			return h.do("GET", nhnVerifyPath(h.app.AppKey, key, " "+strings.ToLower(h.answer(key))+" "))
		}, 200, 0},
		{"right answer without fetching the image", func(h *harness) reply {
			key := h.nhnKey(h.app)
			return h.do("GET", nhnVerifyPath(h.app.AppKey, key, h.answer(key)))
		}, 200, 0},
		{"wrong answer", func(h *harness) reply {
			key := h.nhnServed(h.app)
			return h.do("GET", nhnVerifyPath(h.app.AppKey, key, "WRONG1"))
		}, 200, -6},
		{"right answer after a wrong one", func(h *harness) reply {
			key := h.nhnServed(h.app)
			h.do("GET", nhnVerifyPath(h.app.AppKey, key, "WRONG1"))
			return h.do("GET", nhnVerifyPath(h.app.AppKey, key, h.answer(key)))
		}, 200, -5},
		{"second right answer", func(h *harness) reply {
			key := h.nhnServed(h.app)
			h.do("GET", nhnVerifyPath(h.app.AppKey, key, h.answer(key)))
			return h.do("GET", nhnVerifyPath(h.app.AppKey, key, h.answer(key)))
		}, 200, -5},
		{"expired key", func(h *harness) reply {
			key := h.nhnServed(h.app)
			h.clock.Advance(service.DefaultKeyLifetime)
			return h.do("GET", nhnVerifyPath(h.app.AppKey, key, h.answer(key)))
		}, 200, -5},
		{"key expired by DELETE", func(h *harness) reply {
			key := h.nhnServed(h.app)
			checkNHN(t, h.do("DELETE", "/captcha/v1.0/appkeys/"+h.app.AppKey+"?key="+key), 200, 0)
			return h.do("GET", nhnVerifyPath(h.app.AppKey, key, h.answer(key)))
		}, 200, -5},
		{"unknown key", func(h *harness) reply {
			return h.do("GET", nhnVerifyPath(h.app.AppKey, "AAAAAAAAAAAAAAAAAAAAAA", "ACE234"))
		}, 200, -7},
		{"another app's key", func(h *harness) reply {
			key := h.nhnServed(h.other)
			return h.do("GET", nhnVerifyPath(h.app.AppKey, key, h.answer(key)))
		}, 200, -7},
		{"empty answer", func(h *harness) reply {
			key := h.nhnServed(h.app)
			return h.do("GET", nhnVerifyPath(h.app.AppKey, key, ""))
		}, 200, -8},
		{"no answer parameter", func(h *harness) reply {
			key := h.nhnServed(h.app)
			return h.do("GET", "/captcha/v1.0/appkeys/"+h.app.AppKey+"/keys/"+key+"/verification")
		}, 200, -8},
		{"empty answer uses no attempt", func(h *harness) reply {
			key := h.nhnServed(h.app)
			checkNHN(t, h.do("GET", nhnVerifyPath(h.app.AppKey, key, "   ")), 200, -8)
			return h.do("GET", nhnVerifyPath(h.app.AppKey, key, h.answer(key)))
		}, 200, 0},
		{"answer longer than 64 characters", func(h *harness) reply {
			key := h.nhnServed(h.app)
			return h.do("GET", nhnVerifyPath(h.app.AppKey, key, long))
		}, 200, -2},
		{"overlong answer uses no attempt", func(h *harness) reply {
			key := h.nhnServed(h.app)
			h.do("GET", nhnVerifyPath(h.app.AppKey, key, long))
			return h.do("GET", nhnVerifyPath(h.app.AppKey, key, h.answer(key)))
		}, 200, 0},
		{"verify with an unknown appkey", func(h *harness) reply {
			key := h.nhnServed(h.app)
			return h.do("GET", nhnVerifyPath("0123456789abcdef0123456789abcdef", key, h.answer(key)))
		}, 200, -4},
		{"verify for a disabled app", func(h *harness) reply {
			key := h.nhnServed(h.app)
			h.svc.SetAppEnabled(t.Context(), h.app.AppKey, false)
			return h.do("GET", nhnVerifyPath(h.app.AppKey, key, h.answer(key)))
		}, 200, -4},

		// Expiry by request.
		{"expire", func(h *harness) reply {
			return h.do("DELETE", "/captcha/v1.0/appkeys/"+h.app.AppKey+"?key="+h.nhnKey(h.app))
		}, 200, 0},
		{"expire with the document's example spelling ?keys=", func(h *harness) reply {
			key := h.nhnKey(h.app)
			checkNHN(t, h.do("DELETE", "/captcha/v1.0/appkeys/"+h.app.AppKey+"?keys="+key), 200, 0)
			return h.do("GET", "/captcha/v1.0/keys/"+key+"/img")
		}, 410, -5},
		{"expire twice", func(h *harness) reply {
			key := h.nhnKey(h.app)
			h.do("DELETE", "/captcha/v1.0/appkeys/"+h.app.AppKey+"?key="+key)
			return h.do("DELETE", "/captcha/v1.0/appkeys/"+h.app.AppKey+"?key="+key)
		}, 200, 0},
		{"expire without a key", func(h *harness) reply { return h.do("DELETE", "/captcha/v1.0/appkeys/"+h.app.AppKey) }, 200, -2},
		{"expire an unknown key", func(h *harness) reply {
			return h.do("DELETE", "/captcha/v1.0/appkeys/"+h.app.AppKey+"?key=AAAAAAAAAAAAAAAAAAAAAA")
		}, 200, -7},
		{"expire another app's key", func(h *harness) reply {
			return h.do("DELETE", "/captcha/v1.0/appkeys/"+h.app.AppKey+"?key="+h.nhnKey(h.other))
		}, 200, -7},
		{"expire for an unknown appkey", func(h *harness) reply {
			return h.do("DELETE", "/captcha/v1.0/appkeys/0123456789abcdef0123456789abcdef?key="+h.nhnKey(h.app))
		}, 200, -4},

		// Requests the router refuses.
		{"unknown path", func(h *harness) reply { return h.do("GET", "/captcha/v1.0/nothing") }, 404, -3},
		{"oversized body", func(h *harness) reply {
			req, _ := http.NewRequest("POST", h.url+nhnIssuePath(h.app.AppKey), bytes.NewReader(make([]byte, 1<<20)))
			return h.send(req)
		}, 413, -3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			checkNHN(t, tc.run(h), tc.status, tc.code)
		})
	}
}

func TestNHNIssueReturnsTheKeyInBothSpellings(t *testing.T) {
	h := newHarness(t)
	r := h.do("POST", nhnIssuePath(h.app.AppKey), "Content-Type", "application/json")
	m := r.json(t)
	key, _ := m["key"].(string)
	if len(key) < 22 || m["Key"] != key {
		t.Fatalf("reply %s", r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestNHNImageIsTheSameJPEGEveryTime(t *testing.T) {
	h := newHarness(t)
	key := h.nhnKey(h.app)
	a := h.do("GET", "/captcha/v1.0/keys/"+key+"/img")
	b := h.do("GET", "/captcha/v1.0/keys/"+key+"/img?timestamp=1513324704457")
	if a.status != 200 || a.header.Get("Content-Type") != "image/jpeg" || !isJPEG(a.body) {
		t.Fatalf("img: %d %q", a.status, a.header.Get("Content-Type"))
	}
	if got := a.header.Get("Content-Length"); got != strconv.Itoa(len(a.body)) {
		t.Errorf("img: Content-Length %q for %d bytes", got, len(a.body))
	}
	if !bytes.Equal(a.body, b.body) {
		t.Fatal("two fetches of one key gave different images")
	}
	if other := h.do("GET", "/captcha/v1.0/keys/"+h.nhnKey(h.app)+"/img"); bytes.Equal(a.body, other.body) {
		t.Fatal("two keys gave the same image")
	}
}

// The sound speaks the key's answer as a WAV, the same bytes every time.
func TestNHNSound(t *testing.T) {
	h := newHarness(t)
	key := h.nhnKey(h.app)
	r := h.do("GET", "/captcha/v1.0/keys/"+key+"/sound?timestamp=1513324704457")
	if r.status != 200 || r.header.Get("Content-Type") != "audio/wav" || !isWAV(r.body) {
		t.Fatalf("sound: %d %q", r.status, r.header.Get("Content-Type"))
	}
	if got := r.header.Get("Content-Length"); got != strconv.Itoa(len(r.body)) {
		t.Errorf("sound: Content-Length %q for %d bytes", got, len(r.body))
	}
	again := h.do("GET", "/captcha/v1.0/keys/"+key+"/sound")
	if !bytes.Equal(r.body, again.body) {
		t.Fatal("two fetches of one key gave different sounds")
	}
	checkNHN(t, h.do("GET", nhnVerifyPath(h.app.AppKey, key, h.answer(key))), 200, 0)
}

func TestNHNAttemptsAllowed(t *testing.T) {
	h := newHarness(t, func(_ *web.Options, s *service.AppSettings) { s.MaxAttempts = 3 })
	key := h.nhnServed(h.app)
	checkNHN(t, h.do("GET", nhnVerifyPath(h.app.AppKey, key, "WRONG1")), 200, -6)
	checkNHN(t, h.do("GET", nhnVerifyPath(h.app.AppKey, key, "WRONG2")), 200, -6)
	checkNHN(t, h.do("GET", nhnVerifyPath(h.app.AppKey, key, h.answer(key))), 200, 0)
	checkNHN(t, h.do("GET", nhnVerifyPath(h.app.AppKey, key, h.answer(key))), 200, -5)

	key = h.nhnServed(h.app)
	for range 3 {
		checkNHN(t, h.do("GET", nhnVerifyPath(h.app.AppKey, key, "WRONG1")), 200, -6)
	}
	checkNHN(t, h.do("GET", nhnVerifyPath(h.app.AppKey, key, h.answer(key))), 200, -5)
}

// A failure of the server is result code -1, HTTP 200 on the JSON endpoints and 500 on the
// image, and its text never reaches the client.
func TestNHNServerFailure(t *testing.T) {
	h := newHarness(t)
	key := h.nhnKey(h.app)
	h.db.Close()
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"POST", nhnIssuePath(h.app.AppKey), 200},
		{"GET", nhnVerifyPath(h.app.AppKey, key, "ACE234"), 200},
		{"GET", "/captcha/v1.0/keys/" + key + "/img", 500},
	} {
		r := h.do(tc.method, tc.path)
		checkNHN(t, r, tc.status, -1)
		if strings.Contains(string(r.body), "closed") || strings.Contains(string(r.body), "sql") {
			t.Errorf("internal error text in %s", r.body)
		}
	}
	if !hasAll(h.logs.String(), `"level":"ERROR"`, `"err":"sql`) {
		t.Errorf("the failure is not logged:\n%s", h.logs.String())
	}
}
