package web_test

import (
	"path/filepath"
	"testing"

	"captcha/engine/service"
	"captcha/engine/sqlite"
	"captcha/web"
)

// roomy limits, but for a quota of three sounds a client with next to no refill.
var threeSounds = web.Limits{Enabled: true, AppIssue: web.Rate{PerSecond: 1000, Burst: 1000},
	AppVerify: web.Rate{PerSecond: 1000, Burst: 1000}, IPFetch: web.Rate{PerSecond: 1000, Burst: 1000},
	IPAuthFailure: web.Rate{PerSecond: 1000, Burst: 1000}, IPSounds: web.Rate{PerSecond: 0.0001, Burst: 3}}

// A client network may have so many sounds; past its quota both NHN sound URLs answer 429
// with -3 and deliver nothing. Replaying a sound already delivered costs nothing; images
// and other networks are not held back.
func TestSoundQuotaNHN(t *testing.T) {
	const farm, neighbour = "203.0.113.9", "198.51.100.7"
	h := newHarness(t, withLimits(threeSounds, "127.0.0.0/8"))
	sound := func(key, ip string) reply { return h.do("GET", "/captcha/v1.0/keys/"+key+"/sound", from(ip)...) }
	first := h.nhnKey(h.app)
	for range 3 {
		if r := sound(first, farm); r.status != 200 || !isWAV(r.body) {
			t.Fatalf("a replayed sound: %d %s", r.status, r.body)
		}
	}
	for range 2 {
		if r := sound(h.nhnKey(h.app), farm); r.status != 200 {
			t.Fatalf("the second and third sounds: %d %s", r.status, r.body)
		}
	}
	refused := h.nhnKey(h.app)
	checkNHN(t, sound(refused, farm), 429, -3)
	if k := h.stored(refused); !k.AudioServedAt.IsZero() || !k.Network.IsZero() {
		t.Errorf("a refused sound counted as a delivery: %+v", k)
	}
	// Now the quota is used up, replays are refused too; the image is not.
	checkNHN(t, sound(first, farm), 429, -3)
	if r := h.do("GET", "/captcha/v1.0/keys/"+refused+"/img", from(farm)...); r.status != 200 {
		t.Errorf("the image past the sound quota: %d", r.status)
	}
	if r := sound(refused, neighbour); r.status != 200 {
		t.Errorf("another network's sound: %d", r.status)
	}
	// A sound that is not delivered (no such key) costs nothing.
	for range 3 {
		checkNHN(t, sound("AAAAAAAAAAAAAAAAAAAAAA", "192.0.2.1"), 404, -7)
	}
	if r := sound(h.nhnKey(h.app), "192.0.2.1"); r.status != 200 {
		t.Errorf("a sound after failed fetches: %d", r.status)
	}
}

// The Naver voice CAPTCHA past the quota: 429 with the gateway's 420, and no delivery, so
// that a compare of the key asks for the sound first (CT002).
func TestSoundQuotaNaver(t *testing.T) {
	const farm = "203.0.113.9"
	const skey = "/scaptcha/v1/skey"
	h := newNaverHarness(t, withLimits(threeSounds, "127.0.0.0/8"))
	sound := func(key string) reply {
		return h.do("GET", "/scaptcha-bin/v1/scaptcha?key="+key+"&X-NCP-APIGW-API-KEY-ID="+h.app.AppKey, from(farm)...)
	}
	for range 3 {
		if r := sound(h.naverKey(skey)); r.status != 200 || !isWAV(r.body) {
			t.Fatalf("scaptcha: %d %s", r.status, r.body)
		}
	}
	key := h.naverKey(skey)
	r := sound(key)
	checkNaverError(t, r, 429, "420")
	if gw, _ := r.json(t)["error"].(map[string]any); gw["errorCode"] != "420" {
		t.Errorf("no gateway error object: %s", r.body)
	}
	checkNaverError(t, h.do("GET", naverCompare(skey, key, h.answer(key)), naverAuth(h.app, h.secret)...), 400, "CT002")
}

func TestSoundQuotaOff(t *testing.T) {
	off := threeSounds
	off.Enabled = false
	h := newHarness(t, withLimits(off))
	for range 5 {
		if r := h.do("GET", "/captcha/v1.0/keys/"+h.nhnKey(h.app)+"/sound"); r.status != 200 {
			t.Fatalf("sound with limits off: %d", r.status)
		}
	}
}

// Each sound refused by the quota counts, under the dialect that refused it, replays past
// the quota included; sounds delivered count nothing, and neither does another dialect.
func TestSoundRefusalsAreCounted(t *testing.T) {
	const farm = "203.0.113.9"
	const skey = "/scaptcha/v1/skey"
	for _, tc := range []struct {
		api   service.API
		key   func(h *harness) string
		sound func(h *harness, key string) string // the sound's path
	}{
		{service.NHN, func(h *harness) string { return h.nhnKey(h.app) },
			func(_ *harness, key string) string { return "/captcha/v1.0/keys/" + key + "/sound" }},
		{service.Naver, func(h *harness) string { return h.naverKey(skey) },
			func(h *harness, key string) string {
				return "/scaptcha-bin/v1/scaptcha?key=" + key + "&X-NCP-APIGW-API-KEY-ID=" + h.app.AppKey
			}},
		{service.Widget, func(h *harness) string { return h.challenge(h.app, shopOrigin)["challenge"].(string) },
			func(_ *harness, key string) string { return "/widget/v1/audio/" + key }},
	} {
		t.Run(string(tc.api), func(t *testing.T) {
			h := newHarnessFor(t, tc.api, filepath.Join(t.TempDir(), sqlite.FileName), withLimits(threeSounds, "127.0.0.0/8"))
			before := h.scrape()
			first := tc.key(h)
			for _, key := range []string{first, tc.key(h), tc.key(h)} {
				if r := h.do("GET", tc.sound(h, key), from(farm)...); r.status != 200 {
					t.Fatalf("a sound within the quota: %d %s", r.status, r.body)
				}
			}
			for _, key := range []string{tc.key(h), first} {
				if r := h.do("GET", tc.sound(h, key), from(farm)...); r.status != 429 {
					t.Fatalf("a sound past the quota: %d %s", r.status, r.body)
				}
			}
			after := h.scrape()
			for _, api := range service.APIs() {
				series := `captcha_sounds_refused_total{dialect="` + string(api) + `"}`
				want := 0.0
				if api == tc.api {
					want = 2
				}
				if _, ok := after[series]; !ok {
					t.Errorf("/metrics has no series %s", series)
				}
				if n := after[series] - before[series]; n != want {
					t.Errorf("%s rose by %v, want %v", series, n, want)
				}
			}
		})
	}
}
