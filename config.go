package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"captcha/engine/postgres"
)

// Config is everything the server can be told. Its sources, weakest first: DefaultConfig,
// the TOML file, CAPTCHA_* environment variables, command-line flags.
type Config struct {
	Listen  string `toml:"listen"`
	DataDir string `toml:"data_dir"`
	// DatabaseURL selects PostgreSQL (postgres://…), shared by every node given it; empty,
	// SQLite in DataDir.
	DatabaseURL string `toml:"database_url"`
	// TrustedProxies are the addresses or CIDR networks of reverse proxies whose
	// X-Forwarded-For header gives the client's address and whose X-Forwarded-Proto header
	// (or echo's other scheme headers) says whether it came over HTTPS. Empty: the headers
	// are ignored.
	TrustedProxies []string `toml:"trusted_proxies"`
	// RetentionDays is how long verification records are kept for statistics.
	RetentionDays int           `toml:"retention_days"`
	Log           LogConfig     `toml:"log"`
	Limits        LimitsConfig  `toml:"limits"`
	Admin         AdminConfig   `toml:"admin"`
	Metrics       MetricsConfig `toml:"metrics"`
}

// MetricsConfig guards /metrics.
type MetricsConfig struct {
	// Token, when set, must come as "Authorization: Bearer TOKEN" to read /metrics (what
	// Prometheus sends with authorization.credentials). Empty: anyone who reaches the port
	// can read the counts, as is usual behind a firewall.
	Token string `toml:"token"`
}

// AdminConfig tunes the admin UI at /admin.
type AdminConfig struct {
	// SlowSolveSeconds: solves faster than this are shown as suspiciously fast, which is
	// how an operator sees scripts; people rarely read and type a challenge in 2 seconds.
	SlowSolveSeconds float64 `toml:"slow_solve_seconds"`
	// AudioShareAlertPercent: a share of solves through audio above this is marked in the
	// statistics. About 1% of people use the audio; 5 (the default) is five times that,
	// which a site's audience does not reach by chance, whereas a bar nearer 1% would be
	// crossed by the noise of a quiet day's few solves.
	AudioShareAlertPercent float64 `toml:"audio_share_alert_percent"`
	// SecureCookies says when the admin UI's cookies are Secure (sent back only over
	// HTTPS): SecureCookiesAuto when the request came over HTTPS, by the connection or by
	// X-Forwarded-Proto from one of TrustedProxies; SecureCookiesAlways always, for a server
	// behind a TLS proxy, which then need not be trusted for the scheme.
	SecureCookies string `toml:"secure_cookies"`
}

const (
	SecureCookiesAuto   = "auto"
	SecureCookiesAlways = "always"
)

// LogConfig says how the server logs.
type LogConfig struct {
	Format string `toml:"format"` // text or json
	Level  string `toml:"level"`  // debug, info, warn or error
}

// LimitsConfig are the abuse limits: rates per second and bursts. Issuance and verification
// come from a customer's backend, so they are limited per app; image and sound fetches come
// from end users' browsers, so they are limited per client IP; calls whose app cannot be
// identified (unknown appkey, wrong secret) are charged to no app, so per client IP too.
type LimitsConfig struct {
	Enabled            bool    `toml:"enabled"`
	AppIssueRate       float64 `toml:"app_issue_rate"`
	AppIssueBurst      int     `toml:"app_issue_burst"`
	AppVerifyRate      float64 `toml:"app_verify_rate"`
	AppVerifyBurst     int     `toml:"app_verify_burst"`
	IPFetchRate        float64 `toml:"ip_fetch_rate"`
	IPFetchBurst       int     `toml:"ip_fetch_burst"`
	IPAuthFailureRate  float64 `toml:"ip_auth_failure_rate"`
	IPAuthFailureBurst int     `toml:"ip_auth_failure_burst"`
	// IPSoundsPerHour is the quota of sounds per client IP: first deliveries of a key's
	// sound, refilled evenly over an hour (see DefaultConfig).
	IPSoundsPerHour int `toml:"ip_sounds_per_hour"`
}

// DefaultConfig is what `go run .` serves with: no file needed. The limits are far above
// what a busy site sends (a login page at 200 sign-ins a second, a carrier-grade NAT with
// many users behind one address) and far below what would starve other apps of CPU. Failed
// identifications are a mistake or a probe, never a site's traffic: a working integration
// makes none, so a client gets 30 at once and one a second after that.
//
// Sounds: about 1% of people use the audio, and Korean mobile carriers put many subscribers
// behind one IPv4 address (carrier-grade NAT). 60 sounds an hour is what 6,000 challenges an
// hour from one address would bring at that share, more than a NAT address carries for one
// site, while a farm gets one sound a minute per address instead of the fetch limit's 20 a
// second.
func DefaultConfig() Config {
	return Config{
		Listen:         ":8080",
		DataDir:        "./data",
		TrustedProxies: []string{},
		RetentionDays:  90,
		Log:            LogConfig{Format: "text", Level: "info"},
		Admin:          AdminConfig{SlowSolveSeconds: 2, AudioShareAlertPercent: 5, SecureCookies: SecureCookiesAuto},
		Limits: LimitsConfig{
			Enabled:      true,
			AppIssueRate: 200, AppIssueBurst: 400,
			AppVerifyRate: 200, AppVerifyBurst: 400,
			IPFetchRate: 20, IPFetchBurst: 100,
			IPAuthFailureRate: 1, IPAuthFailureBurst: 30,
			IPSoundsPerHour: 60,
		},
	}
}

// ConfigError names the key, the value and what is allowed.
type ConfigError struct {
	Key, Value, Allowed string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("config %s = %q is invalid: %s", e.Key, e.Value, e.Allowed)
}

// Validate reports the first invalid value.
func (c Config) Validate() error {
	if c.Listen == "" {
		return &ConfigError{"listen", c.Listen, "an address such as :8080 or 127.0.0.1:8080"}
	}
	if c.DataDir == "" {
		return &ConfigError{"data_dir", c.DataDir, "a directory path"}
	}
	if c.DatabaseURL != "" && !postgres.IsURL(c.DatabaseURL) {
		return &ConfigError{"database_url", postgres.Redact(c.DatabaseURL),
			"empty (SQLite in data_dir), or a PostgreSQL URL: postgres://USER:PASSWORD@HOST:PORT/DATABASE"}
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return &ConfigError{"log.format", c.Log.Format, "text or json"}
	}
	if _, err := parseLevel(c.Log.Level); err != nil {
		return &ConfigError{"log.level", c.Log.Level, "debug, info, warn or error"}
	}
	if c.RetentionDays < 1 || c.RetentionDays > maxRetentionDays {
		return &ConfigError{"retention_days", strconv.Itoa(c.RetentionDays), fmt.Sprintf("1 to %d", maxRetentionDays)}
	}
	for _, p := range c.TrustedProxies {
		if _, err := parseNetwork(p); err != nil {
			return &ConfigError{"trusted_proxies", p, "IP addresses or CIDR networks such as 10.0.0.0/8"}
		}
	}
	l := c.Limits
	for _, r := range []struct {
		key   string
		value float64
	}{
		{"limits.app_issue_rate", l.AppIssueRate}, {"limits.app_verify_rate", l.AppVerifyRate},
		{"limits.ip_fetch_rate", l.IPFetchRate}, {"limits.ip_auth_failure_rate", l.IPAuthFailureRate},
	} {
		if !(r.value > 0 && r.value <= maxLimit) { // also false for NaN
			return &ConfigError{r.key, strconv.FormatFloat(r.value, 'g', -1, 64), fmt.Sprintf("requests per second, above 0 and at most %d", maxLimit)}
		}
	}
	for _, b := range []struct {
		key   string
		value int
	}{
		{"limits.app_issue_burst", l.AppIssueBurst}, {"limits.app_verify_burst", l.AppVerifyBurst},
		{"limits.ip_fetch_burst", l.IPFetchBurst}, {"limits.ip_auth_failure_burst", l.IPAuthFailureBurst},
	} {
		if b.value < 1 || b.value > maxLimit {
			return &ConfigError{b.key, strconv.Itoa(b.value), fmt.Sprintf("1 to %d requests", maxLimit)}
		}
	}
	if n := l.IPSoundsPerHour; n < 1 || n > maxLimit {
		return &ConfigError{"limits.ip_sounds_per_hour", strconv.Itoa(n), fmt.Sprintf("sounds per hour, 1 to %d", maxLimit)}
	}
	if t := c.Metrics.Token; t != "" && (len(t) < minMetricsToken || strings.ContainsFunc(t, isNotTokenChar)) {
		return &ConfigError{"metrics.token", "(hidden)", fmt.Sprintf("empty, or at least %d printable ASCII characters without spaces", minMetricsToken)}
	}
	if s := c.Admin.SlowSolveSeconds; !(s > 0 && s <= maxSlowSolveSeconds) { // also false for NaN
		return &ConfigError{"admin.slow_solve_seconds", strconv.FormatFloat(s, 'g', -1, 64),
			fmt.Sprintf("seconds, above 0 and at most %d", maxSlowSolveSeconds)}
	}
	if p := c.Admin.AudioShareAlertPercent; !(p > 0 && p <= 100) { // also false for NaN
		return &ConfigError{"admin.audio_share_alert_percent", strconv.FormatFloat(p, 'g', -1, 64), "a percentage, above 0 and at most 100"}
	}
	switch c.Admin.SecureCookies {
	case SecureCookiesAuto, SecureCookiesAlways:
	default:
		return &ConfigError{"admin.secure_cookies", c.Admin.SecureCookies, "auto (Secure over HTTPS) or always"}
	}
	return nil
}

// isNotTokenChar is true for what cannot go in an Authorization header's token.
func isNotTokenChar(r rune) bool { return r <= ' ' || r > '~' }

const (
	minMetricsToken     = 16
	maxSlowSolveSeconds = 60
	maxRetentionDays    = 3650
	maxLimit            = 1_000_000
)

// parseNetwork reads a CIDR network, or a single address as a network of one.
func parseNetwork(s string) (*net.IPNet, error) {
	if _, n, err := net.ParseCIDR(s); err == nil {
		return n, nil
	}
	ip := net.ParseIP(s)
	if ip == nil {
		return nil, fmt.Errorf("%q is neither an IP address nor a CIDR network", s)
	}
	bits := 128
	if ip4 := ip.To4(); ip4 != nil {
		ip, bits = ip4, 32
	}
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}, nil
}

// trustedNetworks parses TrustedProxies, which Validate has checked.
func (c Config) trustedNetworks() []*net.IPNet {
	var nets []*net.IPNet
	for _, p := range c.TrustedProxies {
		if n, err := parseNetwork(p); err == nil {
			nets = append(nets, n)
		}
	}
	return nets
}

// envVars maps each CAPTCHA_* variable to the key it sets. Every key in the TOML file has
// one, so a container can be configured without a file.
var envVars = []struct {
	name string
	key  string
	set  func(*Config, string) error
}{
	{"CAPTCHA_LISTEN", "listen", func(c *Config, v string) error { c.Listen = v; return nil }},
	{"CAPTCHA_DATA", "data_dir", func(c *Config, v string) error { c.DataDir = v; return nil }},
	{"CAPTCHA_DATABASE_URL", "database_url", func(c *Config, v string) error { c.DatabaseURL = v; return nil }},
	{"CAPTCHA_LOG_FORMAT", "log.format", func(c *Config, v string) error { c.Log.Format = v; return nil }},
	{"CAPTCHA_LOG_LEVEL", "log.level", func(c *Config, v string) error { c.Log.Level = v; return nil }},
	{"CAPTCHA_TRUSTED_PROXIES", "trusted_proxies", func(c *Config, v string) error {
		c.TrustedProxies = []string{}
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.TrustedProxies = append(c.TrustedProxies, p)
			}
		}
		return nil
	}},
	{"CAPTCHA_RETENTION_DAYS", "retention_days", intVar(func(c *Config) *int { return &c.RetentionDays })},
	{"CAPTCHA_RATE_LIMITS", "limits.enabled", func(c *Config, v string) error {
		switch strings.ToLower(v) {
		case "on", "true", "1":
			c.Limits.Enabled = true
		case "off", "false", "0":
			c.Limits.Enabled = false
		default:
			return &ConfigError{"limits.enabled", v, "on or off"}
		}
		return nil
	}},
	{"CAPTCHA_LIMIT_APP_ISSUE_RATE", "limits.app_issue_rate", floatVar(func(c *Config) *float64 { return &c.Limits.AppIssueRate })},
	{"CAPTCHA_LIMIT_APP_ISSUE_BURST", "limits.app_issue_burst", intVar(func(c *Config) *int { return &c.Limits.AppIssueBurst })},
	{"CAPTCHA_LIMIT_APP_VERIFY_RATE", "limits.app_verify_rate", floatVar(func(c *Config) *float64 { return &c.Limits.AppVerifyRate })},
	{"CAPTCHA_LIMIT_APP_VERIFY_BURST", "limits.app_verify_burst", intVar(func(c *Config) *int { return &c.Limits.AppVerifyBurst })},
	{"CAPTCHA_LIMIT_IP_FETCH_RATE", "limits.ip_fetch_rate", floatVar(func(c *Config) *float64 { return &c.Limits.IPFetchRate })},
	{"CAPTCHA_LIMIT_IP_FETCH_BURST", "limits.ip_fetch_burst", intVar(func(c *Config) *int { return &c.Limits.IPFetchBurst })},
	{"CAPTCHA_LIMIT_IP_AUTH_FAILURE_RATE", "limits.ip_auth_failure_rate", floatVar(func(c *Config) *float64 { return &c.Limits.IPAuthFailureRate })},
	{"CAPTCHA_LIMIT_IP_AUTH_FAILURE_BURST", "limits.ip_auth_failure_burst", intVar(func(c *Config) *int { return &c.Limits.IPAuthFailureBurst })},
	{"CAPTCHA_LIMIT_IP_SOUNDS_PER_HOUR", "limits.ip_sounds_per_hour", intVar(func(c *Config) *int { return &c.Limits.IPSoundsPerHour })},
	{"CAPTCHA_ADMIN_SLOW_SOLVE_SECONDS", "admin.slow_solve_seconds", floatVar(func(c *Config) *float64 { return &c.Admin.SlowSolveSeconds })},
	{"CAPTCHA_ADMIN_AUDIO_SHARE_ALERT_PERCENT", "admin.audio_share_alert_percent", floatVar(func(c *Config) *float64 { return &c.Admin.AudioShareAlertPercent })},
	{"CAPTCHA_ADMIN_SECURE_COOKIES", "admin.secure_cookies", func(c *Config, v string) error { c.Admin.SecureCookies = v; return nil }},
	{"CAPTCHA_METRICS_TOKEN", "metrics.token", func(c *Config, v string) error { c.Metrics.Token = v; return nil }},
}

// intVar and floatVar parse a number into the field field returns; a value that is not a
// number is reported by loadConfig with the variable's name.
func intVar(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*field(c) = n
		return nil
	}
}

func floatVar(field func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", v)
		}
		*field(c) = f
		return nil
	}
}

// loadConfig builds the configuration from its sources; getenv is os.Getenv outside tests.
// The file is optional only when no path is given.
func loadConfig(path string, getenv func(string) string) (Config, error) {
	cfg := DefaultConfig()
	if path != "" {
		md, err := toml.DecodeFile(path, &cfg)
		if errors.Is(err, fs.ErrNotExist) {
			return cfg, fmt.Errorf("config file %s does not exist", path)
		}
		if err != nil {
			return cfg, fmt.Errorf("config file %s: %w", path, err)
		}
		if unknown := md.Undecoded(); len(unknown) > 0 {
			return cfg, fmt.Errorf("config file %s: unknown key %q (see config.example.toml)", path, unknown[0].String())
		}
	}
	for _, e := range envVars {
		if v, ok := lookupEnv(getenv, e.name); ok {
			if err := e.set(&cfg, v); err != nil {
				return cfg, fmt.Errorf("environment %s: %w", e.name, err)
			}
		}
	}
	return cfg, nil
}

func lookupEnv(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// configFor loads the configuration for a command: -config wins over CAPTCHA_CONFIG, and
// flags given on the command line are applied last by override.
func configFor(flags commonFlags, override func(*Config)) (Config, error) {
	path := flags.config
	if path == "" {
		path = os.Getenv("CAPTCHA_CONFIG")
	}
	cfg, err := loadConfig(path, os.Getenv)
	if err != nil {
		return cfg, err
	}
	if flags.data != "" {
		cfg.DataDir = flags.data
	}
	if flags.database != "" {
		cfg.DatabaseURL = flags.database
	}
	if override != nil {
		override(&cfg)
	}
	return cfg, cfg.Validate()
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(strings.ToUpper(s)))
	return l, err
}

// newLogger builds the logger the configuration asks for.
func newLogger(c LogConfig, w io.Writer) *slog.Logger {
	level, _ := parseLevel(c.Level) // Validate has checked it
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
