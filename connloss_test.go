package main

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"captcha/engine/postgres"
	"captcha/engine/postgres/pgtest"
)

// A node whose database goes away, whether refused (the server is down) or silent (the
// network to it is cut: the server is paused), answers every API call with its dialect's
// server failure within its timeout, reports unhealthy, and recovers by itself when the
// database is back, keys issued before included.
func TestDatabaseLossAndReturn(t *testing.T) {
	bin := buildBinary(t)
	pg := pgtest.Start(t, pgtest.Options{}) // its own: this test stops it
	dbURL := pg.NewDatabase(t)
	data := t.TempDir()
	nhnApp, _ := createAppWith(t, bin, data, "nhn shop", "nhn", "-database", dbURL)
	naverApp, secret := createAppWith(t, bin, data, "naver shop", "naver", "-database", dbURL)
	n := startNode(t, bin, dbURL)
	client := &http.Client{Timeout: 30 * time.Second}

	type answer struct {
		status int
		nhn    int    // NHN's resultCode
		naver  string // Naver's errorCode
		took   time.Duration
	}
	call := func(method, path string, headers ...string) answer {
		t.Helper()
		req, _ := http.NewRequest(method, n.base+path, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		var parsed struct {
			Header    struct{ ResultCode int }
			ErrorCode string
		}
		json.Unmarshal(body, &parsed)
		return answer{res.StatusCode, parsed.Header.ResultCode, parsed.ErrorCode, time.Since(start)}
	}
	auth := []string{"X-NCP-APIGW-API-KEY-ID", naverApp, "X-NCP-APIGW-API-KEY", secret}
	healthy := func() bool { return call("GET", "/healthz").status == http.StatusOK }
	_, key := nhnIssue(t, n.base, nhnApp)
	// An issuance is committed without waiting for the disk flush (engine/postgres's
	// CreateKey): PostgreSQL's WAL writer flushes it within three times wal_writer_delay
	// (200 ms by default). A crash before that may forget the key, which fails closed; this
	// key is to be one a crash keeps.
	time.Sleep(time.Second)

	// The longest a call may take: the store's bound, and a second for the rest.
	limit := postgres.DefaultTimeout + time.Second
	for _, loss := range []struct {
		name          string
		lose, restore func() error
	}{
		{"server down", pg.Stop, pg.Restart},
		{"server silent", pg.Pause, pg.Resume},
	} {
		t.Run(loss.name, func(t *testing.T) {
			if !healthy() {
				t.Fatal("unhealthy before")
			}
			if err := loss.lose(); err != nil {
				t.Fatal(err)
			}
			restored := false
			defer func() {
				if !restored {
					loss.restore()
				}
			}()
			if a := call("GET", "/healthz"); a.status != http.StatusServiceUnavailable || a.took > limit {
				t.Errorf("healthz: %d after %v", a.status, a.took)
			}
			for _, c := range []struct {
				what, method, path string
				headers            []string
				naver              bool
			}{
				{"NHN issue", "POST", "/captcha/v1.0/appkeys/" + nhnApp + "/keys", nil, false},
				{"NHN image", "GET", "/captcha/v1.0/keys/" + key + "/img", nil, false},
				{"NHN verify", "GET", "/captcha/v1.0/appkeys/" + nhnApp + "/keys/" + key + "/verification?answer=X", nil, false},
				{"Naver issue", "GET", "/captcha/v1/nkey?code=0", auth, true},
			} {
				a := call(c.method, c.path, c.headers...)
				switch {
				case a.took > limit:
					t.Errorf("%s took %v", c.what, a.took)
				case c.naver && (a.status != 500 || a.naver != "CT500"):
					t.Errorf("%s: %d %q, want 500 CT500", c.what, a.status, a.naver)
				case !c.naver && c.what == "NHN image" && a.status != 500 && a.nhn != -1:
					t.Errorf("%s: %d %d, want -1", c.what, a.status, a.nhn)
				case !c.naver && c.what != "NHN image" && (a.status != 200 || a.nhn != -1):
					t.Errorf("%s: %d %d, want 200 -1", c.what, a.status, a.nhn)
				}
			}
			if err := loss.restore(); err != nil {
				t.Fatal(err)
			}
			restored = true
			deadline := time.Now().Add(15 * time.Second)
			for !healthy() {
				if time.Now().After(deadline) {
					t.Fatal("still unhealthy 15 s after the database came back")
				}
				time.Sleep(100 * time.Millisecond)
			}
			// Every call works again at once, the first on each pooled connection included.
			for range 20 {
				if code, _ := nhnIssue(t, n.base, nhnApp); code != 0 {
					t.Fatalf("issuing after recovery: %d", code)
				}
			}
			if a := call("GET", "/captcha/v1.0/keys/"+key+"/img"); a.status != 200 {
				t.Fatalf("the image of a key issued before: %d", a.status)
			}
		})
	}
}
