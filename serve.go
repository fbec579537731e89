package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"captcha/web"
)

// shutdownGrace is how long in-flight requests get to finish after SIGINT or SIGTERM.
const shutdownGrace = 15 * time.Second

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var common commonFlags
	fs := commandFlags("serve", stderr, &common)
	listen := fs.String("listen", "", "address to listen on (env CAPTCHA_LISTEN; default :8080)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := configFor(common, func(c *Config) {
		if *listen != "" {
			c.Listen = *listen
		}
	})
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           web.New(web.Options{Logger: log}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	log.Info("serving", "addr", ln.Addr().String(), "data", cfg.DataDir)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", shutdownGrace)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}
