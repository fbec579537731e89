package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"captcha/engine/postgres"
	"captcha/engine/postgres/pgtest"
	"captcha/engine/service"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// node is one `captcha serve` on the shared PostgreSQL database.
type node struct {
	cmd  *exec.Cmd
	base string
}

func startNode(t *testing.T, bin, dbURL string) *node {
	t.Helper()
	cmd, base := startServer(t, bin, filepath.Join(t.TempDir(), "data"), "-database", dbURL)
	return &node{cmd: cmd, base: base}
}

// get fetches url and returns the status and body.
func get(t *testing.T, client *http.Client, method, url string, form url.Values) (int, []byte) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, url, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// TestTwoNodesOnePostgres runs two `captcha serve` processes on one PostgreSQL database, as
// behind a load balancer: an operator signed in on one is signed in on the other, and an
// app created in the admin UI of one works on the other at once; a key issued on one
// renders identically and verifies on the other; one node killed with SIGKILL under load
// loses no key it acknowledged; and the statistics add up afterwards.
func TestTwoNodesOnePostgres(t *testing.T) {
	bin := buildBinary(t)
	dbURL := pgtest.Shared(t).NewDatabase(t)
	t.Setenv("CAPTCHA_RATE_LIMITS", "off") // the load below is one client's
	a, b := startNode(t, bin, dbURL), startNode(t, bin, dbURL)
	ctx := context.Background()
	store, err := postgres.Open(ctx, dbURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	answer := func(key string) string {
		t.Helper()
		k, err := store.KeyByID(ctx, key)
		if err != nil {
			t.Fatalf("key %s: %v", key, err)
		}
		return k.Answer
	}

	// An operator signs in on node A; the session works on node B too. The app is created
	// in the admin UI of node A.
	passwd := exec.Command(bin, "admin", "passwd", "-user", "ops", "-database", dbURL, "-data", t.TempDir())
	passwd.Stdin = strings.NewReader("a password we chose\n")
	if out, err := passwd.CombinedOutput(); err != nil {
		t.Fatalf("admin passwd: %v\n%s", err, out)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get(t, browser, "GET", a.base+"/admin/login", nil)
	aURL, _ := url.Parse(a.base + "/admin/login")
	var loginToken string
	for _, c := range jar.Cookies(aURL) {
		if c.Name == "captcha_login" {
			loginToken = c.Value
		}
	}
	if status, body := get(t, browser, "POST", a.base+"/admin/login",
		url.Values{"user": {"ops"}, "password": {"a password we chose"}, "csrf": {loginToken}}); status != http.StatusSeeOther {
		t.Fatalf("sign-in on node A: %d %.300s", status, body)
	}
	// Both nodes listen on 127.0.0.1, so the cookie goes to both, as it would to a load
	// balancer's one address.
	status, page := get(t, browser, "GET", b.base+"/admin/apps/new", nil)
	m := csrfInput.FindSubmatch(page)
	if status != http.StatusOK || m == nil {
		t.Fatalf("the session of node A on node B: %d %.300s", status, page)
	}
	d := service.DefaultAppSettings()
	status, page = get(t, browser, "POST", a.base+"/admin/apps", url.Values{"csrf": {string(m[1])}, "name": {"shop"},
		"api": {"nhn"}, "charset": {string(d.Charset)}, "difficulty": {string(d.Difficulty)}, "lang": {string(d.Lang)},
		"length": {fmt.Sprint(d.Length)}, "width": {fmt.Sprint(d.Width)}, "height": {fmt.Sprint(d.Height)},
		"lifetime": {"600"}, "attempts": {"1"}, "escalate": {"1"},
		"escalate_min_answers": {fmt.Sprint(d.Escalation.MinAnswers)}, "escalate_bad_percent": {fmt.Sprint(d.Escalation.BadPercent)},
		"fast_solve": {fmt.Sprint(d.Escalation.FastSolve.Seconds())}})
	m = regexp.MustCompile(`<code id="appkey">([0-9a-f]+)</code>`).FindSubmatch(page)
	if status != http.StatusOK || m == nil {
		t.Fatalf("creating an app in the admin UI of node A: %d %.300s", status, page)
	}
	appKey := string(m[1])

	// At once on node B: a key issued there renders the same bytes on both nodes and
	// verifies on node A.
	issue := func(n *node) string {
		t.Helper()
		header, key := nhnIssue(t, n.base, appKey)
		if header != 0 {
			t.Fatalf("issuing on %s: result %d", n.base, header)
		}
		return key
	}
	key := issue(b)
	_, imgA := get(t, http.DefaultClient, "GET", a.base+"/captcha/v1.0/keys/"+key+"/img", nil)
	_, imgB := get(t, http.DefaultClient, "GET", b.base+"/captcha/v1.0/keys/"+key+"/img", nil)
	_, wavA := get(t, http.DefaultClient, "GET", a.base+"/captcha/v1.0/keys/"+key+"/sound", nil)
	_, wavB := get(t, http.DefaultClient, "GET", b.base+"/captcha/v1.0/keys/"+key+"/sound", nil)
	if len(imgA) < 1000 || !bytes.Equal(imgA, imgB) || len(wavA) < 1000 || !bytes.Equal(wavA, wavB) {
		t.Fatalf("the challenge differs between the nodes: image %d and %d bytes, sound %d and %d",
			len(imgA), len(imgB), len(wavA), len(wavB))
	}
	if code := nhnVerify(t, a.base, appKey, key, answer(key)); code != 0 {
		t.Fatalf("verifying on node A a key of node B: %d", code)
	}
	if code := nhnVerify(t, b.base, appKey, key, answer(key)); code != -5 {
		t.Fatalf("verifying it again on node B: %d, want -5", code)
	}

	// Load on node A, killed with SIGKILL partway: every key whose issuance it answered is
	// in the database, and verifies on node B unless its verification on A was answered.
	var (
		mu           sync.Mutex
		acknowledged = map[string]bool{} // key: its verification on A was answered
		inFlight     = map[string]bool{} // verifications sent to A, unanswered
		flows        atomic.Int64
	)
	client := &http.Client{Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	killed := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			for n := flows.Add(1); n <= 5000; n = flows.Add(1) {
				select {
				case <-killed:
					return
				default:
				}
				code, key, err := tryIssue(client, a.base, appKey)
				if err != nil || code != 0 {
					return // the node is gone
				}
				mu.Lock()
				acknowledged[key] = false
				mu.Unlock()
				if res, err := client.Get(a.base + "/captcha/v1.0/keys/" + key + "/img"); err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				if n%2 == 0 {
					continue // left for node B
				}
				k, err := store.KeyByID(ctx, key)
				if err != nil {
					t.Errorf("an acknowledged key is not in the database: %v", err)
					return
				}
				mu.Lock()
				inFlight[key] = true
				mu.Unlock()
				code, err = tryVerify(client, a.base, appKey, key, k.Answer)
				if err != nil {
					return
				}
				mu.Lock()
				delete(inFlight, key)
				acknowledged[key] = true
				mu.Unlock()
				if code != 0 {
					t.Errorf("verification on node A: %d", code)
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	close(killed)
	wg.Wait()
	a.cmd.Wait()
	mu.Lock()
	defer mu.Unlock()
	verifiedOnA, verifiedOnB, refusedOnB := 0, 0, 0
	for key, verified := range acknowledged {
		if verified {
			verifiedOnA++
			continue
		}
		code := nhnVerify(t, b.base, appKey, key, answer(key))
		switch {
		case code == 0:
			verifiedOnB++
		case code == -5 && inFlight[key]: // its verification on A committed as A died
			verifiedOnA++
			refusedOnB++
		default:
			t.Errorf("key %s, acknowledged by node A, on node B: %d", key, code)
		}
	}
	t.Logf("node A acknowledged %d keys before SIGKILL; %d were verified there, %d on node B afterwards",
		len(acknowledged), verifiedOnA, verifiedOnB)
	if len(acknowledged) < 10 {
		t.Fatalf("only %d flows ran before the kill", len(acknowledged))
	}

	// Every key issued is passed, failed, expired or still pending, once (here none failed
	// nor expired): node A may have issued keys whose answers it never sent, which are
	// pending. These are the figures of the dashboard, which node B serves.
	svc, err := service.New(ctx, store, nil, service.Options{})
	if err != nil {
		t.Fatal(err)
	}
	app, err := svc.App(ctx, service.NHN, appKey)
	if err != nil {
		t.Fatal(err)
	}
	st, err := svc.Stats(ctx, app.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	pending := countPending(t, dbURL, app.ID)
	tot := st.Totals
	if tot.Issued != tot.Passed+tot.Wrong+tot.ExpiredUnsolved+pending || tot.Wrong != 0 ||
		tot.Passed != int64(1+verifiedOnA+verifiedOnB) || tot.Refused != int64(1+refusedOnB) || tot.Images > tot.Issued {
		t.Errorf("statistics: %+v with %d pending; %d passed on A, %d on B", tot, pending, verifiedOnA, verifiedOnB)
	}
	// The dashboard shows them on the surviving node.
	if status, page := get(t, browser, "GET", b.base+"/admin", nil); status != http.StatusOK {
		t.Errorf("dashboard on node B: %d %.300s", status, page)
	}
}

// countPending counts the app's keys neither used up nor expired, as only the database
// can.
func countPending(t *testing.T, dbURL string, appID int64) int64 {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int64
	err = conn.QueryRow(context.Background(), `SELECT count(*) FROM keys WHERE app_id = $1 AND NOT consumed
		AND expires_at > $2`, appID, time.Now().UnixMilli()).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func decodeJSON(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

func nhnIssue(t *testing.T, base, appKey string) (int, string) {
	t.Helper()
	code, key, err := tryIssue(http.DefaultClient, base, appKey)
	if err != nil {
		t.Fatal(err)
	}
	return code, key
}

func nhnVerify(t *testing.T, base, appKey, key, answer string) int {
	t.Helper()
	code, err := tryVerify(http.DefaultClient, base, appKey, key, answer)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func tryIssue(client *http.Client, base, appKey string) (int, string, error) {
	res, err := client.Post(base+"/captcha/v1.0/appkeys/"+appKey+"/keys", "", nil)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	var body struct {
		Header struct{ ResultCode int }
		Key    string
	}
	if err := decodeJSON(res.Body, &body); err != nil {
		return 0, "", err
	}
	return body.Header.ResultCode, body.Key, nil
}

func tryVerify(client *http.Client, base, appKey, key, answer string) (int, error) {
	res, err := client.Get(base + "/captcha/v1.0/appkeys/" + appKey + "/keys/" + key + "/verification?answer=" + answer)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var body struct{ Header struct{ ResultCode int } }
	err = decodeJSON(res.Body, &body)
	return body.Header.ResultCode, err
}
