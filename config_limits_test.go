package main

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestRateLimitsSwitch(t *testing.T) {
	for value, want := range map[string]bool{"off": false, "OFF": false, "false": false, "0": false, "on": true, "true": true, "1": true} {
		cfg, err := loadConfig("", envOf(map[string]string{"CAPTCHA_RATE_LIMITS": value}))
		if err != nil || cfg.Limits.Enabled != want {
			t.Errorf("CAPTCHA_RATE_LIMITS=%s: enabled %v, %v", value, cfg.Limits.Enabled, err)
		}
	}
	_, err := loadConfig("", envOf(map[string]string{"CAPTCHA_RATE_LIMITS": "maybe"}))
	if err == nil || !strings.Contains(err.Error(), "CAPTCHA_RATE_LIMITS") || !strings.Contains(err.Error(), "on or off") {
		t.Errorf("bad switch: %v", err)
	}
	path := writeFile(t, "c.toml", "[limits]\nenabled = false\n")
	if cfg, err := loadConfig(path, noEnv); err != nil || cfg.Limits.Enabled {
		t.Errorf("limits.enabled = false in the file: %+v, %v", cfg.Limits, err)
	}
}

func TestLimitsAndProxiesFromFileAndEnvironment(t *testing.T) {
	path := writeFile(t, "c.toml", `trusted_proxies = ["10.0.0.0/8", "192.0.2.7"]
retention_days = 30
[limits]
app_issue_rate = 5.5
app_issue_burst = 11
ip_fetch_burst = 3
ip_auth_failure_burst = 4
`)
	cfg, err := loadConfig(path, envOf(map[string]string{"CAPTCHA_LIMIT_IP_FETCH_RATE": "0.5", "CAPTCHA_RETENTION_DAYS": "7",
		"CAPTCHA_LIMIT_IP_AUTH_FAILURE_RATE": "0.25"}))
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Limits
	if l.AppIssueRate != 5.5 || l.AppIssueBurst != 11 || l.IPFetchBurst != 3 || l.IPFetchRate != 0.5 || cfg.RetentionDays != 7 ||
		l.IPAuthFailureRate != 0.25 || l.IPAuthFailureBurst != 4 {
		t.Fatalf("got %+v, retention %d", l, cfg.RetentionDays)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	nets := cfg.trustedNetworks()
	if len(nets) != 2 || nets[0].String() != "10.0.0.0/8" || nets[1].String() != "192.0.2.7/32" {
		t.Fatalf("networks %v", nets)
	}
	cfg, _ = loadConfig("", envOf(map[string]string{"CAPTCHA_TRUSTED_PROXIES": " 127.0.0.1, ::1 ,"}))
	if got := cfg.trustedNetworks(); len(got) != 2 || got[1].String() != "::1/128" {
		t.Fatalf("from the environment: %v", got)
	}
	if _, err := loadConfig("", envOf(map[string]string{"CAPTCHA_LIMIT_APP_VERIFY_BURST": "lots"})); err == nil ||
		!strings.Contains(err.Error(), "CAPTCHA_LIMIT_APP_VERIFY_BURST") {
		t.Errorf("a burst that is no number: %v", err)
	}
	if _, err := loadConfig("", envOf(map[string]string{"CAPTCHA_LIMIT_IP_AUTH_FAILURE_BURST": "1.5"})); err == nil ||
		!strings.Contains(err.Error(), "CAPTCHA_LIMIT_IP_AUTH_FAILURE_BURST") || !strings.Contains(err.Error(), "whole number") {
		t.Errorf("a burst that is no whole number: %v", err)
	}
	if d := DefaultConfig().Limits; d.IPAuthFailureRate != 1 || d.IPAuthFailureBurst != 30 {
		t.Errorf("the defaults the README states: %+v", d)
	}
}

func TestLimitsValidateNamesTheKey(t *testing.T) {
	for key, mutate := range map[string]func(*Config){
		"retention_days":               func(c *Config) { c.RetentionDays = 0 },
		"trusted_proxies":              func(c *Config) { c.TrustedProxies = []string{"10.0.0.0/33"} },
		"limits.app_issue_rate":        func(c *Config) { c.Limits.AppIssueRate = 0 },
		"limits.app_verify_rate":       func(c *Config) { c.Limits.AppVerifyRate = math.NaN() },
		"limits.ip_fetch_rate":         func(c *Config) { c.Limits.IPFetchRate = -1 },
		"limits.app_issue_burst":       func(c *Config) { c.Limits.AppIssueBurst = 0 },
		"limits.app_verify_burst":      func(c *Config) { c.Limits.AppVerifyBurst = 2_000_000 },
		"limits.ip_fetch_burst":        func(c *Config) { c.Limits.IPFetchBurst = -5 },
		"limits.ip_auth_failure_rate":  func(c *Config) { c.Limits.IPAuthFailureRate = 0 },
		"limits.ip_auth_failure_burst": func(c *Config) { c.Limits.IPAuthFailureBurst = 0 },
		"limits.ip_sounds_per_hour":    func(c *Config) { c.Limits.IPSoundsPerHour = 0 },
	} {
		cfg := DefaultConfig()
		mutate(&cfg)
		var ce *ConfigError
		if err := cfg.Validate(); !errors.As(err, &ce) || ce.Key != key || ce.Allowed == "" {
			t.Errorf("%s: got %v", key, err)
		}
	}
}

// The quota of sounds: its default, the file and the environment, and a value out of range.
func TestSoundQuotaSetting(t *testing.T) {
	if n := DefaultConfig().Limits.IPSoundsPerHour; n != 60 {
		t.Errorf("default %d sounds an hour, the README says 60", n)
	}
	path := writeFile(t, "c.toml", "[limits]\nip_sounds_per_hour = 120\n")
	if cfg, err := loadConfig(path, noEnv); err != nil || cfg.Limits.IPSoundsPerHour != 120 {
		t.Errorf("from the file: %d, %v", cfg.Limits.IPSoundsPerHour, err)
	}
	cfg, err := loadConfig(path, envOf(map[string]string{"CAPTCHA_LIMIT_IP_SOUNDS_PER_HOUR": "30"}))
	if err != nil || cfg.Limits.IPSoundsPerHour != 30 {
		t.Errorf("from the environment: %d, %v", cfg.Limits.IPSoundsPerHour, err)
	}
	if _, err := loadConfig("", envOf(map[string]string{"CAPTCHA_LIMIT_IP_SOUNDS_PER_HOUR": "lots"})); err == nil ||
		!strings.Contains(err.Error(), "CAPTCHA_LIMIT_IP_SOUNDS_PER_HOUR") {
		t.Errorf("a quota that is no number: %v", err)
	}
	cfg = DefaultConfig()
	cfg.Limits.IPSoundsPerHour = 2_000_000
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "limits.ip_sounds_per_hour") ||
		!strings.Contains(err.Error(), "2000000") || !strings.Contains(err.Error(), "sounds per hour") {
		t.Errorf("a quota out of range: %v", err)
	}
}
