package migrations

import (
	"testing"
	"testing/fstest"
)

func TestReadRejectsBadNames(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no number": {"init.sql": {}},
		"duplicate": {"0001_a.sql": {}, "0001_b.sql": {}},
		"empty":     {},
	} {
		if _, err := Read(fsys); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Both directories hold well-named, gap-free migrations from 1 up.
func TestEmbeddedMigrationsAreNumberedInOrder(t *testing.T) {
	for _, dir := range []struct {
		name string
		ms   func() ([]Migration, error)
	}{
		{"sqlite", func() ([]Migration, error) { return Read(FS) }},
		{"postgres", func() ([]Migration, error) { return Read(Postgres()) }},
	} {
		ms, err := dir.ms()
		if err != nil {
			t.Fatalf("%s: %v", dir.name, err)
		}
		for i, m := range ms {
			if m.Version != i+1 {
				t.Errorf("%s: migration %s is number %d, want %d", dir.name, m.Name, m.Version, i+1)
			}
		}
	}
}
