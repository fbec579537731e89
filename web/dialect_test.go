package web_test

import (
	"bytes"
	"testing"

	"captcha/engine/service"
)

// unknownAppKey is the appkey of no app.
const unknownAppKey = "0123456789abcdef0123456789abcdef"

// A Naver app cannot be called through the NHN dialect, whose only credential is the appkey
// that every browser of the Naver flow sees: NHN answers exactly as for an unknown appkey,
// serves none of its keys, and leaves them as they were.
func TestNaverAppIsUnknownToNHN(t *testing.T) {
	h := newNaverHarness(t)
	unknown := h.do("POST", nhnIssuePath(unknownAppKey))
	checkNHN(t, unknown, 200, -4)

	r := h.do("POST", nhnIssuePath(h.app.AppKey))
	checkNHN(t, r, 200, -4)
	if !bytes.Equal(r.body, unknown.body) {
		t.Errorf("issuance: %s, for an unknown appkey %s", r.body, unknown.body)
	}

	key := h.naverKey(nkey)
	answer := h.answer(key)
	for _, path := range []string{"/captcha/v1.0/keys/" + key + "/img", "/captcha/v1.0/keys/" + key + "/sound"} {
		checkNHN(t, h.do("GET", path), 404, -7)
	}
	// NHN delivered nothing: Naver still asks for the image before the compare.
	checkNaverError(t, h.do("GET", naverCompare(nkey, key, answer), naverAuth(h.app, h.secret)...), 400, "CT002")

	h.naverImage(key)
	for name, r := range map[string]reply{
		"the right answer": h.do("GET", nhnVerifyPath(h.app.AppKey, key, answer)),
		"a wrong answer":   h.do("GET", nhnVerifyPath(h.app.AppKey, key, "WRONG1")),
		"expiry":           h.do("DELETE", "/captcha/v1.0/appkeys/"+h.app.AppKey+"?key="+key),
	} {
		checkNHN(t, r, 200, -4)
		if !bytes.Equal(r.body, unknown.body) {
			t.Errorf("%s: %s, for an unknown appkey %s", name, r.body, unknown.body)
		}
	}
	// None of that touched the key: it passes once, through Naver.
	checkNaverResult(t, h.do("GET", naverCompare(nkey, key, answer), naverAuth(h.app, h.secret)...), true, 0)
}

// An NHN app cannot be called through the Naver dialect either, even with its secret.
func TestNHNAppIsUnknownToNaver(t *testing.T) {
	h := newHarness(t)
	unknown := h.do("GET", nkey+"?code=0", "X-NCP-APIGW-API-KEY-ID", unknownAppKey, "X-NCP-APIGW-API-KEY", h.secret)
	checkNaverError(t, unknown, 401, "200")

	key := h.nhnKey(h.app)
	auth := naverAuth(h.app, h.secret) // the right secret of the app
	for _, path := range []string{
		nkey + "?code=0",
		"/scaptcha/v1/skey?code=0",
		naverCompare(nkey, key, h.answer(key)),
		"/captcha-bin/v1/ncaptcha?key=" + key + "&X-NCP-APIGW-API-KEY-ID=" + h.app.AppKey,
		"/scaptcha-bin/v1/scaptcha?key=" + key + "&X-NCP-APIGW-API-KEY-ID=" + h.app.AppKey,
	} {
		r := h.do("GET", path, auth...)
		checkNaverError(t, r, 401, "200")
		if !bytes.Equal(r.body, unknown.body) {
			t.Errorf("%s: %s, for an unknown appkey %s", path, r.body, unknown.body)
		}
	}
	checkNHN(t, h.do("GET", nhnVerifyPath(h.app.AppKey, key, h.answer(key))), 200, 0)
}

// The attack of issue 9: whoever loaded one challenge of a Naver app knows its appkey, and
// a stream of NHN calls with it and made-up keys used to spend the app's budget, so that
// the customer's real Naver calls answered 429. They spend none of it now.
func TestTheOtherDialectSpendsNoneOfTheAppsBudget(t *testing.T) {
	h := newNaverHarness(t, withLimits(tight, "127.0.0.0/8"))
	const attacker, customer, browser = "203.0.113.66", "198.51.100.7", "192.0.2.10"
	// The attacker's first calls find no app; then its own budget of failures runs out.
	checkNHN(t, h.do("POST", nhnIssuePath(h.app.AppKey), "X-Forwarded-For", attacker), 200, -4)
	checkNHN(t, h.do("GET", nhnVerifyPath(h.app.AppKey, "AAAAAAAAAAAAAAAAAAAAAA", "ACE234"), "X-Forwarded-For", attacker), 200, -4)
	for range 5 {
		checkNHN(t, h.do("POST", nhnIssuePath(h.app.AppKey), "X-Forwarded-For", attacker), 429, -3)
		checkNHN(t, h.do("GET", nhnVerifyPath(h.app.AppKey, "AAAAAAAAAAAAAAAAAAAAAA", "ACE234"), "X-Forwarded-For", attacker), 429, -3)
		checkNHN(t, h.do("DELETE", "/captcha/v1.0/appkeys/"+h.app.AppKey+"?key=AAAAAAAAAAAAAAAAAAAAAA", "X-Forwarded-For", attacker), 429, -3)
	}

	// The customer's server issues two keys and verifies one, its users' browsers load it.
	fromCustomer := append(naverAuth(h.app, h.secret), "X-Forwarded-For", customer)
	var key string
	for range 2 {
		r := h.do("GET", nkey+"?code=0", fromCustomer...)
		if key, _ = r.json(t)["key"].(string); r.status != 200 || key == "" {
			t.Fatalf("the customer's issuance: %d %s", r.status, r.body)
		}
	}
	if r := h.do("GET", "/captcha-bin/v1/ncaptcha?key="+key+"&X-NCP-APIGW-API-KEY-ID="+h.app.AppKey,
		"X-Forwarded-For", browser); r.status != 200 {
		t.Fatalf("the image: %d %s", r.status, r.body)
	}
	checkNaverResult(t, h.do("GET", naverCompare(nkey, key, h.answer(key)), fromCustomer...), true, 0)
}

// Switching an app's dialect moves it, with its live keys, to the other dialect at once.
func TestSwitchingTheDialect(t *testing.T) {
	h := newNaverHarness(t)
	key := h.naverKey(nkey)
	if err := h.svc.SetAppAPI(t.Context(), h.app.AppKey, service.NHN); err != nil {
		t.Fatal(err)
	}
	checkNaverError(t, h.do("GET", nkey, naverAuth(h.app, h.secret)...), 401, "200")
	checkNHN(t, h.do("GET", nhnVerifyPath(h.app.AppKey, key, h.answer(key))), 200, 0)
}
