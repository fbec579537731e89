package service

import (
	"context"
	"sync"
	"time"
)

// appCacheTTL is how long an app looked up by its appkey is reused. Every issuance and
// verification looks its app up, and in WAL mode each read on a fresh connection re-reads
// its pages, so the cache saves a read per API call. Changes made through this process
// apply at once (the cache is cleared); changes made by another process sharing the
// database (captcha app disable while the server runs) apply within this time.
const appCacheTTL = time.Second

// cachingStore is the service's Store with apps cached by appkey. Every method that changes
// apps clears the cache before returning.
type cachingStore struct {
	Store
	mu   sync.Mutex
	apps map[string]cachedApp
}

type cachedApp struct {
	app     App
	fetched time.Time
}

func newCachingStore(s Store) *cachingStore {
	return &cachingStore{Store: s, apps: make(map[string]cachedApp)}
}

func (c *cachingStore) AppByKey(ctx context.Context, appKey string) (*App, error) {
	return c.cached(appKey, func() (*App, error) { return c.Store.AppByKey(ctx, appKey) })
}

// AppBySecretHash is cached like AppByKey, in the same map under a key no appkey can be (an
// appkey is hex): every /siteverify looks its app up so.
func (c *cachingStore) AppBySecretHash(ctx context.Context, secretHash []byte) (*App, error) {
	return c.cached("\x00"+string(secretHash), func() (*App, error) { return c.Store.AppBySecretHash(ctx, secretHash) })
}

// cached returns the app cached under key if it is recent enough, else fetches it and
// caches it. What fetch does not find is not cached: anyone can invent appkeys and secrets.
func (c *cachingStore) cached(key string, fetch func() (*App, error)) (*App, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.apps[key]
	c.mu.Unlock()
	if ok && now.Sub(e.fetched) < appCacheTTL {
		app := e.app // a copy: callers may not change what others read
		return &app, nil
	}
	app, err := fetch()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.apps[key] = cachedApp{app: *app, fetched: now}
	c.mu.Unlock()
	return app, nil
}

func (c *cachingStore) forget() {
	c.mu.Lock()
	clear(c.apps)
	c.mu.Unlock()
}

func (c *cachingStore) SetAppEnabled(ctx context.Context, appKey string, enabled bool) error {
	defer c.forget()
	return c.Store.SetAppEnabled(ctx, appKey, enabled)
}

func (c *cachingStore) SetAppAPI(ctx context.Context, appKey string, api API) error {
	defer c.forget()
	return c.Store.SetAppAPI(ctx, appKey, api)
}

func (c *cachingStore) DeleteApp(ctx context.Context, appKey string) error {
	defer c.forget()
	return c.Store.DeleteApp(ctx, appKey)
}

func (c *cachingStore) UpdateApp(ctx context.Context, id int64, name string, api API, settings AppSettings) error {
	defer c.forget()
	return c.Store.UpdateApp(ctx, id, name, api, settings)
}

func (c *cachingStore) SetAppHostnames(ctx context.Context, id int64, hostnames []string) error {
	defer c.forget()
	return c.Store.SetAppHostnames(ctx, id, hostnames)
}

func (c *cachingStore) SetAppSecret(ctx context.Context, id int64, secretHash []byte) error {
	defer c.forget()
	return c.Store.SetAppSecret(ctx, id, secretHash)
}
