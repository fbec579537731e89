package web_test

import (
	"bytes"
	"net/http"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"captcha/engine"
	"captcha/engine/service"
	"captcha/web"
)

// behindProxy is a harness whose requests come through a trusted proxy on loopback, so that
// X-Forwarded-For says which client each one is from.
func behindProxy() harnessOption { return withLimits(web.Limits{}, "127.0.0.0/8", "::1/128") }

func from(ip string, headers ...string) []string { return append(headers, "X-Forwarded-For", ip) }

// A network whose recent answers were wrong gets its next challenges one difficulty up and
// two characters longer, decided at the first delivery and kept by the key: every fetch of
// it, from anywhere, image or sound, draws the same harder challenge.
func TestEscalationThroughNHN(t *testing.T) {
	const bot, person = "203.0.113.9", "198.51.100.7"
	h := newHarness(t, behindProxy())
	img := func(key, ip string) reply { return h.do("GET", "/captcha/v1.0/keys/"+key+"/img", from(ip)...) }
	for range 5 {
		key := h.nhnKey(h.app)
		img(key, bot)
		h.clock.Advance(3 * time.Second)
		checkNHN(t, h.do("GET", nhnVerifyPath(h.app.AppKey, key, "WRONG1")), 200, -6)
	}

	key := h.nhnKey(h.app)
	first := img(key, bot)
	k := h.stored(key)
	if first.status != 200 || !k.Escalated || k.Options.Difficulty != engine.Hard || utf8.RuneCountInString(k.Answer) != 8 {
		t.Fatalf("the bot's next key: %d, %+v", first.status, k)
	}
	if again := img(key, person); !bytes.Equal(again.body, first.body) {
		t.Error("the escalated key's image changed on the next fetch")
	}
	sound := h.do("GET", "/captcha/v1.0/keys/"+key+"/sound", from(bot)...)
	if sound.status != 200 || !isWAV(sound.body) || h.answer(key) != k.Answer {
		t.Errorf("the escalated key's sound: %d, answer %q then %q", sound.status, k.Answer, h.answer(key))
	}
	h.clock.Advance(5 * time.Second)
	checkNHN(t, h.do("GET", nhnVerifyPath(h.app.AppKey, key, k.Answer)), 200, 0)

	other := h.nhnKey(h.app)
	img(other, person)
	if k := h.stored(other); k.Escalated || utf8.RuneCountInString(k.Answer) != 6 {
		t.Errorf("another network's key: %+v", k)
	}
}

// An IPv6 client is its /64: the addresses of one subscriber share their answers.
func TestEscalationTakesIPv6ByItsSlash64(t *testing.T) {
	h := newHarness(t, behindProxy())
	for _, ip := range []string{"2001:db8:1:2::a", "2001:db8:1:2::b", "2001:db8:1:2:ffff::1", "2001:db8:1:2::c", "2001:db8:1:2::d"} {
		key := h.nhnKey(h.app)
		h.do("GET", "/captcha/v1.0/keys/"+key+"/img", from(ip)...)
		checkNHN(t, h.do("GET", nhnVerifyPath(h.app.AppKey, key, "WRONG1")), 200, -6)
	}
	same, next := h.nhnKey(h.app), h.nhnKey(h.app)
	h.do("GET", "/captcha/v1.0/keys/"+same+"/img", from("2001:db8:1:2::99")...)
	h.do("GET", "/captcha/v1.0/keys/"+next+"/img", from("2001:db8:1:3::a")...)
	if !h.stored(same).Escalated || h.stored(next).Escalated {
		t.Errorf("escalated: the same /64 %v, the next /64 %v", h.stored(same).Escalated, h.stored(next).Escalated)
	}
}

// The Naver dialect's voice CAPTCHA: the sound's first delivery decides, the compare counts.
func TestEscalationThroughNaverVoice(t *testing.T) {
	const bot = "203.0.113.9"
	h := newNaverHarness(t, behindProxy())
	auth := naverAuth(h.app, h.secret)
	const skey = "/scaptcha/v1/skey"
	sound := func(key string) reply {
		return h.do("GET", "/scaptcha-bin/v1/scaptcha?key="+key+"&X-NCP-APIGW-API-KEY-ID="+h.app.AppKey, from(bot)...)
	}
	for range 5 {
		key := h.naverKey(skey)
		sound(key)
		h.clock.Advance(400 * time.Millisecond) // right, but faster than a person
		checkNaverResult(t, h.do("GET", naverCompare(skey, key, h.answer(key)), auth...), true, 0.4)
	}
	key := h.naverKey(skey)
	first := sound(key)
	k := h.stored(key)
	if first.status != 200 || !k.Escalated || utf8.RuneCountInString(k.Answer) != 8 {
		t.Fatalf("the bot's next key: %d, %+v", first.status, k)
	}
	if again := sound(key); !bytes.Equal(again.body, first.body) {
		t.Error("the escalated key's sound changed on the next fetch")
	}
	h.clock.Advance(6 * time.Second)
	checkNaverResult(t, h.do("GET", naverCompare(skey, key, k.Answer), auth...), true, 6)
}

// An app with escalation off: its answers are not counted, its keys never escalated.
func TestEscalationOffThroughNHN(t *testing.T) {
	const bot = "203.0.113.9"
	off := func(o *web.Options, s *service.AppSettings) {
		behindProxy()(o, s)
		s.Escalation.Enabled = false
	}
	h := newHarness(t, off)
	for range 6 {
		key := h.nhnKey(h.app)
		h.do("GET", "/captcha/v1.0/keys/"+key+"/img", from(bot)...)
		checkNHN(t, h.do("GET", nhnVerifyPath(h.app.AppKey, key, "WRONG1")), 200, -6)
	}
	key := h.nhnKey(h.app)
	h.do("GET", "/captcha/v1.0/keys/"+key+"/img", from(bot)...)
	if k := h.stored(key); k.Escalated || !k.Network.IsZero() || utf8.RuneCountInString(k.Answer) != 6 {
		t.Errorf("a key of an app with escalation off: %+v", k)
	}
}

const escalatedSeries = "captcha_challenges_escalated_total"

// answerWrongly has network give five wrong answers to NHN keys, enough for its next key to
// be escalated under the default policy.
func answerWrongly(t *testing.T, h *harness, network string) {
	t.Helper()
	for range 5 {
		key := h.nhnKey(h.app)
		h.do("GET", "/captcha/v1.0/keys/"+key+"/img", from(network)...)
		h.clock.Advance(3 * time.Second)
		checkNHN(t, h.do("GET", nhnVerifyPath(h.app.AppKey, key, "WRONG1")), 200, -6)
	}
}

// Each escalated key counts once, at its first delivery: fetching it again, image or sound,
// from anywhere, adds nothing, and neither do the keys of a network that answers well.
func TestEscalationsAreCounted(t *testing.T) {
	const bot, person = "203.0.113.9", "198.51.100.7"
	h := newHarness(t, behindProxy())
	answerWrongly(t, h, bot)
	before := h.metric(escalatedSeries)

	key := h.nhnKey(h.app)
	h.do("GET", "/captcha/v1.0/keys/"+key+"/img", from(bot)...)
	h.do("GET", "/captcha/v1.0/keys/"+key+"/img", from(bot)...)
	h.do("GET", "/captcha/v1.0/keys/"+key+"/img", from(person)...)
	h.do("GET", "/captcha/v1.0/keys/"+key+"/sound", from(bot)...)
	if !h.stored(key).Escalated {
		t.Fatal("the bot's key was not escalated")
	}
	if n := h.metric(escalatedSeries) - before; n != 1 {
		t.Fatalf("one escalated key, fetched four times, counted %v times", n)
	}
	h.do("GET", "/captcha/v1.0/keys/"+h.nhnKey(h.app)+"/img", from(person)...)
	h.do("GET", "/captcha/v1.0/keys/"+h.nhnKey(h.app)+"/sound", from(bot)...)
	if n := h.metric(escalatedSeries) - before; n != 2 {
		t.Fatalf("after a person's key and a second key of the bot's: %v escalations counted, want 2", n)
	}
}

// Concurrent first fetches of one key on PostgreSQL, where the losers of the race to record
// the first delivery decide again on the key the winner saved: the key counts once however
// many times the service decided on it.
func TestConcurrentEscalationCountsOnceOnPostgres(t *testing.T) {
	const bot = "203.0.113.9"
	db := postgresStore(t)
	h := newHarnessOn(t, service.NHN, db, behindProxy())
	answerWrongly(t, h, bot)
	before := h.metric(escalatedSeries)

	key := h.nhnKey(h.app)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest("GET", h.url+"/captcha/v1.0/keys/"+key+"/img", nil)
			req.Header.Set("X-Forwarded-For", bot)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Errorf("a concurrent fetch: %d", res.StatusCode)
			}
		})
	}
	close(start)
	wg.Wait()
	if !h.stored(key).Escalated {
		t.Fatal("the bot's key was not escalated")
	}
	if n := h.metric(escalatedSeries) - before; n != 1 {
		t.Fatalf("16 concurrent first fetches of one escalated key counted %v escalations", n)
	}
}
