package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// serve runs one request through the router in-process: fuzzing needs thousands a second.
func (h *harness) serve(t *testing.T, method, target string, headers ...string) (*httptest.ResponseRecorder, bool) {
	req, err := http.NewRequest(method, "http://captcha.test"+target, nil)
	if err != nil {
		return nil, false // not a request a client could send
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %q: HTTP %d %s", method, target, rec.Code, rec.Body)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("%q: no Cache-Control: no-store", target)
	}
	if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("%q: no X-Content-Type-Options: nosniff", target)
	}
	return rec, true
}

// FuzzNHNVerify sends arbitrary appkeys, keys and query strings to the verification
// endpoint: no panic, no 5xx, and always one of the document's result codes. "=" stands
// for the real appkey or a real key, so that the fuzzer also reaches the answer check.
func FuzzNHNVerify(f *testing.F) {
	for _, seed := range [][3]string{
		{"=", "=", "answer=ACE234"},
		{"=", "=", "answer="},
		{"=", "=", ""},
		{"=", "=", "answer=" + strings.Repeat("A", 65)},
		{"=", "=", "answer=%E0%B8%81%E0%B8%82&answer=x"},
		{"=", "=", "answer=%00%ff%fe"},
		{"=", "=", "answer=+%20ace234%20+"},
		{"=", "AAAAAAAAAAAAAAAAAAAAAA", "answer=ACE234"},
		{"=", "../../etc/passwd", "answer=x"},
		{"0123456789abcdef0123456789abcdef", "=", "answer=ACE234"},
		{"'; DROP TABLE apps; --", "=", "answer=1"},
		{"", "", ""},
		{"=", "%zz", "answer=%zz"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	h := newHarness(f)
	realKey := h.nhnKey(h.app)
	f.Fuzz(func(t *testing.T, appKey, key, query string) {
		if appKey == "=" {
			appKey = h.app.AppKey
		}
		if key == "=" {
			key = realKey
		}
		target := "/captcha/v1.0/appkeys/" + url.PathEscape(appKey) + "/keys/" + url.PathEscape(key) + "/verification?" + query
		rec, ok := h.serve(t, "GET", target)
		if !ok {
			return
		}
		var body struct {
			Header struct {
				ResultCode *int `json:"resultCode"`
			} `json:"header"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Header.ResultCode == nil {
			t.Fatalf("%q: HTTP %d, body %q", target, rec.Code, rec.Body)
		}
		switch code := *body.Header.ResultCode; code {
		case 0, -2, -4, -5, -6, -7, -8:
			if rec.Code != 200 {
				t.Fatalf("%q: code %d with HTTP %d", target, code, rec.Code)
			}
		case -3: // the router refused the path: a fuzzed key with a slash, for example
			if rec.Code != 404 && rec.Code != 405 {
				t.Fatalf("%q: code -3 with HTTP %d", target, rec.Code)
			}
		default:
			t.Fatalf("%q: result code %d", target, code)
		}
	})
}

// FuzzNaverCompare sends arbitrary query strings and credentials to nkey: no panic, no 5xx,
// and either a compare result, a key, or one of the document's (or gateway's) error codes.
func FuzzNaverCompare(f *testing.F) {
	for _, seed := range [][2]string{
		{"=", "code=1&key=%s&value=ACE234"},
		{"=", "code=1&key=%s&value="},
		{"=", "code=1&key=%s"},
		{"=", "code=1&value=x"},
		{"=", "code=0"},
		{"=", ""},
		{"=", "code=2"},
		{"=", "code=1&code=0&key=%s&value=a"},
		{"=", "code=1&key=%s&value=" + strings.Repeat("%EA%B0%80", 70)},
		{"=", "code=1&key=eioDb7T8M703uht0&value=1PUNUST"},
		{"wrong", "code=1&key=%s&value=ACE234"},
		{"", "code=1&key=%00&value=%ff"},
		{"=", "code=%zz&key=%zz"},
	} {
		f.Add(seed[0], seed[1])
	}
	h := newNaverHarness(f)
	realKey := h.naverKey(nkey)
	h.naverImage(realKey)
	f.Fuzz(func(t *testing.T, secret, query string) {
		if secret == "=" {
			secret = h.secret
		}
		query = strings.ReplaceAll(query, "%s", realKey)
		rec, ok := h.serve(t, "GET", nkey+"?"+query, "X-NCP-APIGW-API-KEY-ID", h.app.AppKey, "X-NCP-APIGW-API-KEY", secret)
		if !ok {
			return
		}
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%q: HTTP %d, body %q", query, rec.Code, rec.Body)
		}
		switch {
		case rec.Code == 200 && body["result"] != nil:
			if _, ok := body["responseTime"].(float64); !ok {
				t.Fatalf("%q: %s", query, rec.Body)
			}
		case rec.Code == 200 && body["key"] != nil:
		case rec.Code == 400 && (body["errorCode"] == "CT002" || body["errorCode"] == "100"),
			rec.Code == 401 && body["errorCode"] == "200",
			rec.Code == 403 && body["errorCode"] == "CT001":
		default:
			t.Fatalf("%q: HTTP %d %s", query, rec.Code, rec.Body)
		}
	})
}
