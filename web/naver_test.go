package web_test

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"

	"captcha/engine/service"
)

// naverAuth are the gateway headers of app.
func naverAuth(app *service.App, secret string) []string {
	return []string{"X-NCP-APIGW-API-KEY-ID", app.AppKey, "X-NCP-APIGW-API-KEY", secret}
}

// naverKey issues a key for the harness's app through path (nkey or skey).
func (h *harness) naverKey(path string) string {
	h.t.Helper()
	return h.naverKeyOf(h.app, h.secret, path)
}

func (h *harness) naverKeyOf(app *service.App, secret, path string) string {
	h.t.Helper()
	r := h.do("GET", path+"?code=0", naverAuth(app, secret)...)
	key, _ := r.json(h.t)["key"].(string)
	if r.status != 200 || key == "" {
		h.t.Fatalf("nkey: %d %s", r.status, r.body)
	}
	return key
}

// naverImage fetches a key's image as the harness's app's pages do, the appkey in the URL.
func (h *harness) naverImage(key string) reply { return h.naverImageOf(h.app, key) }

func (h *harness) naverImageOf(app *service.App, key string) reply {
	return h.do("GET", "/captcha-bin/v1/ncaptcha?key="+key+"&X-NCP-APIGW-API-KEY-ID="+app.AppKey)
}

func naverCompare(path, key, value string) string {
	return path + "?code=1&key=" + url.QueryEscape(key) + "&value=" + url.QueryEscape(value)
}

// checkNaverError asserts a Naver error: status and errorCode.
func checkNaverError(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("HTTP %d, want %d; body %s", r.status, status, r.body)
	}
	m := r.json(t)
	if m["errorCode"] != code || m["errorMessage"] == "" {
		t.Fatalf("errorCode %v, want %s; body %s", m["errorCode"], code, r.body)
	}
}

// checkNaverResult asserts a compare result.
func checkNaverResult(t *testing.T, r reply, result bool, responseTime float64) {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("HTTP %d; body %s", r.status, r.body)
	}
	m := r.json(t)
	if m["result"] != result || m["responseTime"] != responseTime {
		t.Fatalf("got %s, want result %v, responseTime %v", r.body, result, responseTime)
	}
}

const nkey = "/captcha/v1/nkey"

// TestNaverErrors walks the Naver dialect through every error it can answer.
func TestNaverErrors(t *testing.T) {
	cases := []struct {
		name   string
		run    func(h *harness) reply
		status int
		code   string
	}{
		// Credentials on nkey and skey.
		{"nkey without credentials", func(h *harness) reply { return h.do("GET", nkey+"?code=0") }, 401, "200"},
		{"nkey without the secret", func(h *harness) reply {
			return h.do("GET", nkey+"?code=0", "X-NCP-APIGW-API-KEY-ID", h.app.AppKey)
		}, 401, "200"},
		{"nkey with a wrong secret", func(h *harness) reply { return h.do("GET", nkey, naverAuth(h.app, h.otherSec)...) }, 401, "200"},
		{"nkey with an unknown client id", func(h *harness) reply {
			return h.do("GET", nkey, "X-NCP-APIGW-API-KEY-ID", "0123456789abcdef0123456789abcdef", "X-NCP-APIGW-API-KEY", h.secret)
		}, 401, "200"},
		{"nkey for a disabled app", func(h *harness) reply { return h.do("GET", nkey, naverAuth(h.disabled, h.disSec)...) }, 401, "200"},
		{"compare without credentials", func(h *harness) reply {
			return h.do("GET", naverCompare(nkey, h.naverKey(nkey), "ACE234"))
		}, 401, "200"},
		{"skey without credentials", func(h *harness) reply { return h.do("GET", "/scaptcha/v1/skey?code=0") }, 401, "200"},
		{"nkey with code 2", func(h *harness) reply { return h.do("GET", nkey+"?code=2", naverAuth(h.app, h.secret)...) }, 400, "100"},
		{"nkey with code x", func(h *harness) reply { return h.do("GET", nkey+"?code=x", naverAuth(h.app, h.secret)...) }, 400, "100"},

		// The image.
		{"image without the client id", func(h *harness) reply {
			return h.do("GET", "/captcha-bin/v1/ncaptcha?key="+h.naverKey(nkey))
		}, 401, "200"},
		{"image with an unknown client id", func(h *harness) reply {
			return h.do("GET", "/captcha-bin/v1/ncaptcha?key="+h.naverKey(nkey)+"&X-NCP-APIGW-API-KEY-ID=nobody")
		}, 401, "200"},
		{"image with another app's client id", func(h *harness) reply {
			return h.do("GET", "/captcha-bin/v1/ncaptcha?key="+h.naverKey(nkey)+"&X-NCP-APIGW-API-KEY-ID="+h.other.AppKey)
		}, 403, "CT001"},
		{"image of an unknown key", func(h *harness) reply { return h.naverImage("t521bp3qM7Qyk2X2") }, 403, "CT001"},
		{"image without a key", func(h *harness) reply { return h.naverImage("") }, 403, "CT001"},
		{"image of an expired key", func(h *harness) reply {
			key := h.naverKey(nkey)
			h.clock.Advance(service.DefaultKeyLifetime)
			return h.naverImage(key)
		}, 403, "CT001"},
		{"image of a used key", func(h *harness) reply {
			key := h.naverKey(nkey)
			h.naverImage(key)
			h.do("GET", naverCompare(nkey, key, h.answer(key)), naverAuth(h.app, h.secret)...)
			return h.naverImage(key)
		}, 403, "CT001"},

		// Compare.
		{"compare before the image", func(h *harness) reply {
			key := h.naverKey(nkey)
			return h.do("GET", naverCompare(nkey, key, h.answer(key)), naverAuth(h.app, h.secret)...)
		}, 400, "CT002"},
		{"compare after only the sound", func(h *harness) reply {
			key := h.naverKey(nkey)
			h.do("GET", "/scaptcha-bin/v1/scaptcha?key="+key+"&X-NCP-APIGW-API-KEY-ID="+h.app.AppKey)
			return h.do("GET", naverCompare(nkey, key, h.answer(key)), naverAuth(h.app, h.secret)...)
		}, 400, "CT002"},
		{"voice compare before the sound", func(h *harness) reply {
			key := h.naverKey("/scaptcha/v1/skey")
			return h.do("GET", naverCompare("/scaptcha/v1/skey", key, h.answer(key)), naverAuth(h.app, h.secret)...)
		}, 400, "CT002"},
		{"compare twice", func(h *harness) reply {
			key := h.naverKey(nkey)
			h.naverImage(key)
			h.do("GET", naverCompare(nkey, key, h.answer(key)), naverAuth(h.app, h.secret)...)
			return h.do("GET", naverCompare(nkey, key, h.answer(key)), naverAuth(h.app, h.secret)...)
		}, 403, "CT001"},
		{"compare after a wrong answer", func(h *harness) reply {
			key := h.naverKey(nkey)
			h.naverImage(key)
			h.do("GET", naverCompare(nkey, key, "WRONG1"), naverAuth(h.app, h.secret)...)
			return h.do("GET", naverCompare(nkey, key, h.answer(key)), naverAuth(h.app, h.secret)...)
		}, 403, "CT001"},
		{"compare an expired key", func(h *harness) reply {
			key := h.naverKey(nkey)
			h.naverImage(key)
			h.clock.Advance(service.DefaultKeyLifetime)
			return h.do("GET", naverCompare(nkey, key, h.answer(key)), naverAuth(h.app, h.secret)...)
		}, 403, "CT001"},
		{"compare an unknown key", func(h *harness) reply {
			return h.do("GET", naverCompare(nkey, "eioDb7T8M703uht0", "1PUNUST"), naverAuth(h.app, h.secret)...)
		}, 403, "CT001"},
		{"compare without a key", func(h *harness) reply {
			return h.do("GET", nkey+"?code=1&value=ACE234", naverAuth(h.app, h.secret)...)
		}, 403, "CT001"},
		{"compare another app's key", func(h *harness) reply {
			key := h.naverKey(nkey)
			h.naverImage(key)
			return h.do("GET", naverCompare(nkey, key, h.answer(key)), naverAuth(h.other, h.otherSec)...)
		}, 403, "CT001"},

		// Requests the router refuses.
		{"unknown path", func(h *harness) reply { return h.do("GET", "/captcha/v1/nothing") }, 404, "300"},
		{"wrong method", func(h *harness) reply { return h.do("POST", nkey, naverAuth(h.app, h.secret)...) }, 405, "300"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newNaverHarness(t)
			checkNaverError(t, tc.run(h), tc.status, tc.code)
		})
	}
}

func TestNaverAuthErrorsCarryTheGatewayBody(t *testing.T) {
	h := newNaverHarness(t)
	r := h.do("GET", nkey)
	gw, _ := r.json(t)["error"].(map[string]any)
	if gw["errorCode"] != "200" || gw["message"] != "Authentication Failed" {
		t.Fatalf("body %s", r.body)
	}
	// Which part of the credentials was wrong is not told.
	if wrong := h.do("GET", nkey, naverAuth(h.app, "nope")...); !bytes.Equal(wrong.body, r.body) {
		t.Errorf("a wrong secret is told apart from missing credentials: %s vs %s", wrong.body, r.body)
	}
}

func TestNaverFlow(t *testing.T) {
	h := newNaverHarness(t)
	auth := naverAuth(h.app, h.secret)
	for _, issue := range []string{nkey + "?code=0", nkey, "/v1/captcha/nkey?code=0"} {
		r := h.do("GET", issue, auth...)
		m := r.json(t)
		key, _ := m["key"].(string)
		if r.status != 200 || len(key) < 16 || len(m) != 1 {
			t.Fatalf("%s: %d %s", issue, r.status, r.body)
		}
	}
	key := h.naverKey(nkey)
	img := h.naverImage(key)
	if img.status != 200 || img.header.Get("Content-Type") != "image/jpeg" || !isJPEG(img.body) {
		t.Fatalf("image: %d %q", img.status, img.header.Get("Content-Type"))
	}
	// The same image from every path the document shows, and with the id as a header.
	for _, path := range []string{
		"/captcha-bin/v1/ncaptcha?key=" + key + "&X-NCP-APIGW-API-KEY-ID=" + h.app.AppKey,
		"/v1/captcha-bin/ncaptcha.bin?key=" + key + "&X-NCP-APIGW-API-KEY-ID=" + h.app.AppKey,
		"/captcha/v1/ncaptcha?key=" + key + "&X-NCP-APIGW-API-KEY-ID=" + h.app.AppKey,
	} {
		if again := h.do("GET", path); !bytes.Equal(again.body, img.body) {
			t.Fatalf("%s: %d, not the same image", path, again.status)
		}
	}
	if again := h.do("GET", "/captcha-bin/v1/ncaptcha?key="+key, "X-NCP-APIGW-API-KEY-ID", h.app.AppKey); !bytes.Equal(again.body, img.body) {
		t.Fatalf("id as header: %d", again.status)
	}
	h.clock.Advance(84*time.Second + 567*time.Millisecond)
	checkNaverResult(t, h.do("GET", naverCompare(nkey, key, strings.ToLower(h.answer(key))), auth...), true, 84.57)
}

func TestNaverWrongAndEmptyValues(t *testing.T) {
	h := newNaverHarness(t)
	auth := naverAuth(h.app, h.secret)
	key := h.naverKey(nkey)
	h.naverImage(key)
	h.clock.Advance(1500 * time.Millisecond)
	// Empty and overlong values are false without using up the attempt.
	checkNaverResult(t, h.do("GET", naverCompare(nkey, key, ""), auth...), false, -1)
	checkNaverResult(t, h.do("GET", nkey+"?code=1&key="+key, auth...), false, -1)
	checkNaverResult(t, h.do("GET", naverCompare(nkey, key, strings.Repeat("가", 65)), auth...), false, -1)
	checkNaverResult(t, h.do("GET", naverCompare(nkey, key, "WRONG1"), auth...), false, 1.5)
	checkNaverError(t, h.do("GET", naverCompare(nkey, key, h.answer(key)), auth...), 403, "CT001")
}

func TestNaverVoice(t *testing.T) {
	h := newNaverHarness(t)
	auth := naverAuth(h.app, h.secret)
	key := h.naverKey("/scaptcha/v1/skey")
	r := h.do("GET", "/scaptcha-bin/v1/scaptcha?key="+key+"&X-NCP-APIGW-API-KEY-ID="+h.app.AppKey)
	if r.status != 200 || r.header.Get("Content-Type") != "audio/wav" || !isWAV(r.body) {
		t.Fatalf("scaptcha: %d %q", r.status, r.header.Get("Content-Type"))
	}
	h.clock.Advance(3 * time.Second)
	checkNaverResult(t, h.do("GET", naverCompare("/scaptcha/v1/skey", key, h.answer(key)), auth...), true, 3)
}

func TestNaverServerFailure(t *testing.T) {
	h := newNaverHarness(t)
	key := h.naverKey(nkey)
	h.db.Close()
	for _, path := range []string{nkey, naverCompare(nkey, key, "ACE234")} {
		r := h.do("GET", path, naverAuth(h.app, h.secret)...)
		checkNaverError(t, r, 500, "CT500")
		if strings.Contains(string(r.body), "sql") {
			t.Errorf("internal error text in %s", r.body)
		}
	}
}
