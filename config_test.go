package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func noEnv(string) string { return "" }

func TestConfigDefaultsWithoutFile(t *testing.T) {
	cfg, err := loadConfig("", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, DefaultConfig()) {
		t.Fatalf("got %+v, want the defaults", cfg)
	}
	if cfg.Listen != ":8080" || cfg.DataDir != "./data" {
		t.Fatalf("defaults changed: %+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

// The example file documents every key with its default, so loading it changes nothing.
func TestConfigExampleMatchesDefaults(t *testing.T) {
	cfg, err := loadConfig("config.example.toml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if want := DefaultConfig(); !reflect.DeepEqual(cfg, want) {
		t.Fatalf("config.example.toml gives %+v, defaults are %+v", cfg, want)
	}
}

func TestConfigPrecedence(t *testing.T) {
	path := writeFile(t, "c.toml", "listen = \":9000\"\ndata_dir = \"/from/file\"\n[log]\nformat = \"json\"\n")
	env := map[string]string{"CAPTCHA_LISTEN": ":9100"}
	cfg, err := loadConfig(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != ":9100" {
		t.Errorf("environment should win over the file: listen = %q", cfg.Listen)
	}
	if cfg.DataDir != "/from/file" || cfg.Log.Format != "json" {
		t.Errorf("file should win over defaults: %+v", cfg)
	}
	if cfg.Log.Level != "info" {
		t.Errorf("unset key should keep its default: %+v", cfg)
	}
}

func TestConfigFlagsWinOverEnvironment(t *testing.T) {
	t.Setenv("CAPTCHA_CONFIG", "")
	t.Setenv("CAPTCHA_DATA", "/from/env")
	t.Setenv("CAPTCHA_LISTEN", ":9100")
	cfg, err := configFor(commonFlags{data: "/from/flag"}, func(c *Config) { c.Listen = ":9200" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/from/flag" || cfg.Listen != ":9200" {
		t.Fatalf("flags should win: %+v", cfg)
	}
}

// The database comes from database_url, CAPTCHA_DATABASE_URL or -database, strongest last.
func TestConfigDatabaseURL(t *testing.T) {
	t.Setenv("CAPTCHA_CONFIG", writeFile(t, "c.toml", "database_url = \"postgres://file/db\"\n"))
	t.Setenv("CAPTCHA_DATABASE_URL", "")
	if cfg, err := configFor(commonFlags{}, nil); err != nil || cfg.DatabaseURL != "postgres://file/db" {
		t.Fatalf("from the file: %q, %v", cfg.DatabaseURL, err)
	}
	t.Setenv("CAPTCHA_DATABASE_URL", "postgresql://env/db")
	if cfg, err := configFor(commonFlags{}, nil); err != nil || cfg.DatabaseURL != "postgresql://env/db" {
		t.Fatalf("from the environment: %q, %v", cfg.DatabaseURL, err)
	}
	if cfg, err := configFor(commonFlags{database: "postgres://flag/db"}, nil); err != nil || cfg.DatabaseURL != "postgres://flag/db" {
		t.Fatalf("from the flag: %q, %v", cfg.DatabaseURL, err)
	}
}

func TestConfigErrorsNameTheProblem(t *testing.T) {
	cases := []struct {
		name, file string
		env        map[string]string
		want       []string
	}{
		{"bad log format", "[log]\nformat = \"xml\"\n", nil, []string{"log.format", "xml", "text or json"}},
		{"bad level from env", "", map[string]string{"CAPTCHA_LOG_LEVEL": "loud"}, []string{"log.level", "loud"}},
		{"unknown key", "lisen = \":1\"\n", nil, []string{"unknown key", "lisen"}},
		{"wrong type", "listen = 8080\n", nil, []string{"listen"}},
		{"not toml", "listen = \n", nil, []string{"c.toml"}},
		{"slow solve zero", "[admin]\nslow_solve_seconds = 0.0\n", nil, []string{"admin.slow_solve_seconds", "0", "above 0"}},
		{"slow solve from env", "", map[string]string{"CAPTCHA_ADMIN_SLOW_SOLVE_SECONDS": "61"}, []string{"admin.slow_solve_seconds", "61", "at most 60"}},
		{"slow solve not a number", "", map[string]string{"CAPTCHA_ADMIN_SLOW_SOLVE_SECONDS": "fast"}, []string{"CAPTCHA_ADMIN_SLOW_SOLVE_SECONDS", "fast"}},
		{"audio alert zero", "[admin]\naudio_share_alert_percent = 0.0\n", nil, []string{"admin.audio_share_alert_percent", "0", "above 0"}},
		{"audio alert from env", "", map[string]string{"CAPTCHA_ADMIN_AUDIO_SHARE_ALERT_PERCENT": "101"}, []string{"admin.audio_share_alert_percent", "101", "at most 100"}},
		{"audio alert not a number", "", map[string]string{"CAPTCHA_ADMIN_AUDIO_SHARE_ALERT_PERCENT": "high"}, []string{"CAPTCHA_ADMIN_AUDIO_SHARE_ALERT_PERCENT", "high"}},
		{"secure cookies misspelt", "[admin]\nsecure_cookies = \"yes\"\n", nil, []string{"admin.secure_cookies", "yes", "auto", "always"}},
		{"secure cookies from env", "", map[string]string{"CAPTCHA_ADMIN_SECURE_COOKIES": "never"}, []string{"admin.secure_cookies", "never"}},
		{"short metrics token", "[metrics]\ntoken = \"short\"\n", nil, []string{"metrics.token", "at least 16"}},
		{"database not postgres", "database_url = \"mysql://u:hunter22@h/db\"\n", nil, []string{"database_url", "postgres://", "xxxxx"}},
		{"database from env", "", map[string]string{"CAPTCHA_DATABASE_URL": "captcha.db"}, []string{"database_url", "captcha.db"}},
		{"metrics token with a space", "", map[string]string{"CAPTCHA_METRICS_TOKEN": "0123456789 abcdefgh"}, []string{"metrics.token", "without spaces"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = writeFile(t, "c.toml", tc.file)
			}
			cfg, err := loadConfig(path, func(k string) string { return tc.env[k] })
			if err == nil {
				err = cfg.Validate()
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestConfigMissingFileIsAnError(t *testing.T) {
	_, err := loadConfig(filepath.Join(t.TempDir(), "nope.toml"), noEnv)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("got %v", err)
	}
}

func TestRunRejectsUnknownCommandAndFlags(t *testing.T) {
	var out, errOut strings.Builder
	err := run(t.Context(), []string{"frobnicate"}, strings.NewReader(""), &out, &errOut)
	var u *usageError
	if !errors.As(err, &u) || exitCode(err) != 2 {
		t.Fatalf("unknown command: %v", err)
	}
	err = run(t.Context(), []string{"gen", "-bogus"}, strings.NewReader(""), &out, &errOut)
	if exitCode(err) != 2 || !strings.Contains(errOut.String(), "bogus") {
		t.Fatalf("unknown flag: %v / %s", err, errOut.String())
	}
}

func TestAudioShareAlertConfig(t *testing.T) {
	if p := DefaultConfig().Admin.AudioShareAlertPercent; p != 5 {
		t.Errorf("default %v%%, the README says 5", p)
	}
	path := writeFile(t, "c.toml", "[admin]\naudio_share_alert_percent = 2.5\n")
	if cfg, err := loadConfig(path, noEnv); err != nil || cfg.Admin.AudioShareAlertPercent != 2.5 || cfg.Validate() != nil {
		t.Errorf("from the file: %v, %v", cfg.Admin.AudioShareAlertPercent, err)
	}
	cfg, err := loadConfig(path, envOf(map[string]string{"CAPTCHA_ADMIN_AUDIO_SHARE_ALERT_PERCENT": "10"}))
	if err != nil || cfg.Admin.AudioShareAlertPercent != 10 {
		t.Errorf("from the environment: %v, %v", cfg.Admin.AudioShareAlertPercent, err)
	}
}
