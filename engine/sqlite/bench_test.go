package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"captcha/engine"
	"captcha/engine/service"
)

// BenchmarkKeyLifecycle runs the store's part of one CAPTCHA flow per iteration: look up the
// app, insert the key, load it and mark its image served, look up the app again and verify.
//
//	go test ./engine/sqlite -run '^$' -bench . -benchmem
func BenchmarkKeyLifecycle(b *testing.B) {
	db, err := Open(context.Background(), b.TempDir()+"/"+FileName)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	app := &service.App{Name: "bench", AppKey: "bench", SecretHash: []byte{1}, Enabled: true, API: service.NHN,
		Settings: service.DefaultAppSettings(), CreatedAt: time.Now()}
	if err := db.CreateApp(ctx, app); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	now := time.Now()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("key%019d", i)
		if _, err := db.AppByKey(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
		k := &service.Key{ID: id, AppID: app.ID, Answer: "ACE234", Options: engine.DefaultOptions(), MaxAttempts: 1,
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := db.CreateKey(ctx, k); err != nil {
			b.Fatal(err)
		}
		err := db.UpdateKey(ctx, id, func(k *service.Key) (*service.Verification, error) {
			k.ImageServedAt = now
			return nil, nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.AppByKey(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
		err = db.UpdateKey(ctx, id, func(k *service.Key) (*service.Verification, error) {
			k.Attempts, k.Consumed = 1, true
			return &service.Verification{AppID: app.ID, Outcome: service.Passed, Channel: service.Image, At: now}, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
