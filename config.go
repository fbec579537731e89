package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
)

// Config is everything the server can be told. Its sources, weakest first: DefaultConfig,
// the TOML file, CAPTCHA_* environment variables, command-line flags.
type Config struct {
	Listen  string    `toml:"listen"`
	DataDir string    `toml:"data_dir"`
	Log     LogConfig `toml:"log"`
}

// LogConfig says how the server logs.
type LogConfig struct {
	Format string `toml:"format"` // text or json
	Level  string `toml:"level"`  // debug, info, warn or error
}

// DefaultConfig is what `go run .` serves with: no file needed.
func DefaultConfig() Config {
	return Config{
		Listen:  ":8080",
		DataDir: "./data",
		Log:     LogConfig{Format: "text", Level: "info"},
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
	switch c.Log.Format {
	case "text", "json":
	default:
		return &ConfigError{"log.format", c.Log.Format, "text or json"}
	}
	if _, err := parseLevel(c.Log.Level); err != nil {
		return &ConfigError{"log.level", c.Log.Level, "debug, info, warn or error"}
	}
	return nil
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
	{"CAPTCHA_LOG_FORMAT", "log.format", func(c *Config, v string) error { c.Log.Format = v; return nil }},
	{"CAPTCHA_LOG_LEVEL", "log.level", func(c *Config, v string) error { c.Log.Level = v; return nil }},
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
