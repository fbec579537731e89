package postgres

import (
	"sync"

	"captcha/engine/service"
)

// keyCacheSize bounds the keys a node remembers: a flow's steps come within seconds, and
// at a thousand flows a second this holds the last few seconds' keys.
const keyCacheSize = 4096

// keyCache remembers the keys this node wrote last (issued, delivered, updated), as it
// wrote them, so that a verification that comes to the node that served the image saves
// the round trip that reads the key: UpdateKey saves only on the condition that the key
// (and its app's state) is still as remembered, and reads it if not. So the cache can be
// stale, never wrong: another node's change makes the save fail, and the key is read.
type keyCache struct {
	mu   sync.Mutex
	keys map[string]service.Key
	ring [keyCacheSize]string // the order they were added in, to drop the oldest
	next int
}

func newKeyCache() *keyCache {
	return &keyCache{keys: make(map[string]service.Key, keyCacheSize)}
}

// get returns a copy of the key as this node last wrote it.
func (c *keyCache) get(id string) (*service.Key, bool) {
	c.mu.Lock()
	k, ok := c.keys[id]
	c.mu.Unlock()
	return &k, ok
}

// put remembers k as stored now.
func (c *keyCache) put(k *service.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.keys[k.ID]; !ok {
		if old := c.ring[c.next]; old != "" {
			delete(c.keys, old)
		}
		c.ring[c.next] = k.ID
		c.next = (c.next + 1) % keyCacheSize
	}
	c.keys[k.ID] = *k
}

// forget drops a key that is stored otherwise than remembered, or will not be used again.
func (c *keyCache) forget(id string) {
	c.mu.Lock()
	delete(c.keys, id) // its place in the ring is reused in turn
	c.mu.Unlock()
}
