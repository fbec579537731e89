package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"captcha/admin"
	"captcha/engine"
	"captcha/engine/service"
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
	// Packages below the service log the rare failure that has no caller left to tell (a
	// commit failing after its first deliveries were answered) with slog's default logger.
	previous := slog.Default()
	slog.SetDefault(log)
	defer slog.SetDefault(previous)

	metrics := web.NewMetrics()
	svc, db, err := openService(ctx, cfg, true, service.Options{Observer: metrics, Logger: log})
	if err != nil {
		return err
	}
	defer db.Close() // after the server and housekeeping have stopped, below
	if !hasCustomerApp(ctx, svc) {
		log.Warn("no applications yet: create one with `captcha app create -name NAME -api nhn|naver|widget` (same -data, -database and -config)")
	}
	adminUI, err := openAdmin(ctx, cfg, svc, db, svc.Renderer(), log)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	router := newRouter(cfg, svc, metrics, adminUI, log)
	srv := &http.Server{
		Handler:           router,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	housekeeping, stopHousekeeping := context.WithCancel(context.WithoutCancel(ctx))
	housekept := make(chan struct{})
	go func() {
		defer close(housekept)
		svc.Housekeep(housekeeping)
	}()
	defer func() {
		stopHousekeeping()
		<-housekept
	}()

	log.Info("serving", "version", buildVersion(), "addr", ln.Addr().String(), "data", cfg.DataDir, "database", db.Path(),
		"rate_limits", cfg.Limits.Enabled)
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

// newRouter is everything the server answers over HTTP, on one echo router: both API
// dialects, health and metrics (web), and the admin UI with the demo page (admin), which
// thereby share web's notion of the client's address and scheme.
func newRouter(cfg Config, svc *service.Service, metrics *web.Metrics, adminUI *admin.Handler, log *slog.Logger) *echo.Echo {
	router := web.New(web.Options{
		Service: svc, Logger: log, Metrics: metrics, TrustedProxies: cfg.trustedNetworks(),
		MetricsToken: cfg.Metrics.Token, Version: buildVersion(),
		Limits: web.Limits{
			Enabled:       cfg.Limits.Enabled,
			AppIssue:      web.Rate{PerSecond: cfg.Limits.AppIssueRate, Burst: cfg.Limits.AppIssueBurst},
			AppVerify:     web.Rate{PerSecond: cfg.Limits.AppVerifyRate, Burst: cfg.Limits.AppVerifyBurst},
			IPFetch:       web.Rate{PerSecond: cfg.Limits.IPFetchRate, Burst: cfg.Limits.IPFetchBurst},
			IPAuthFailure: web.Rate{PerSecond: cfg.Limits.IPAuthFailureRate, Burst: cfg.Limits.IPAuthFailureBurst},
			// The whole quota at once, refilled evenly over the hour.
			IPSounds: web.Rate{PerSecond: float64(cfg.Limits.IPSoundsPerHour) / 3600, Burst: cfg.Limits.IPSoundsPerHour},
		},
	})
	adminUI.Register(router)
	return router
}

// openService opens the database (PostgreSQL at database_url, or SQLite in the data
// directory) and the service on it. The data directory is created if missing, and other
// users kept out of it, either way: it holds the first start's admin password. With draw,
// the service draws in the style of the database's server secret, so every process on one
// database draws a key alike; commands that never draw skip loading fonts and voices.
func openService(ctx context.Context, cfg Config, draw bool, o service.Options) (*service.Service, database, error) {
	was, err := secureDataDir(cfg.DataDir)
	if err != nil {
		return nil, nil, err
	}
	if was != 0 && o.Logger != nil {
		// Say so: a backup job that read the directory as another user stops working.
		o.Logger.Warn("the data directory was open to other users: it is now its owner's alone",
			"dir", cfg.DataDir, "was", fmt.Sprintf("%04o", was), "now", "0700")
	}
	db, err := openDatabase(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	var renderer service.Renderer
	if draw {
		r, err := styledRenderer(ctx, db)
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		if o.Logger != nil {
			o.Logger.Info("drawing challenges in this server's own style", "style", r.Style().ID())
		}
		renderer = r
	}
	o.Retention = time.Duration(cfg.RetentionDays) * 24 * time.Hour
	svc, err := service.New(ctx, db, renderer, o)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return svc, db, nil
}

// styledRenderer loads the fonts and voices and styles them by the store's server secret.
func styledRenderer(ctx context.Context, store service.Store) (*engine.Renderer, error) {
	secret, err := store.ServerSecret(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the server secret: %w", err)
	}
	return engine.NewRenderer(engine.StyleFromSecret(secret))
}

// hasCustomerApp says whether any app other than the demo page's exists, so that a server
// nobody can call the APIs of says how to change that.
func hasCustomerApp(ctx context.Context, svc *service.Service) bool {
	apps, err := svc.Apps(ctx)
	if err != nil {
		return true // the error shows elsewhere; no advice on a guess
	}
	for _, a := range apps {
		if a.Name != service.DemoAppName {
			return true
		}
	}
	return false
}

// openAdmin prepares the admin UI: on the first start it creates the admin account, whose
// generated password goes to a file in the data directory (never to the log) and is stored
// only as a hash, and the demo page's app.
func openAdmin(ctx context.Context, cfg Config, svc *service.Service, db database, r service.Renderer, log *slog.Logger) (*admin.Handler, error) {
	ops, err := service.NewOperators(db, service.OperatorOptions{})
	if err != nil {
		return nil, err
	}
	password, created, err := ops.EnsureFirstOperator(ctx)
	if err != nil {
		return nil, fmt.Errorf("creating the admin account: %w", err)
	}
	passwordFile := initialPasswordPath(cfg)
	if created {
		// The account exists from here on, so a failure leaves no other way in than setting
		// a password from the command line; say so.
		if err := writeInitialPassword(passwordFile, password); err != nil {
			return nil, fmt.Errorf("the admin account was created, but writing its password to %s failed: %w; "+
				"set one with `captcha admin passwd -user %s`", passwordFile, err, service.FirstOperatorName)
		}
		log.Warn("created the account for the admin UI at /admin; its password is in the file named here, "+
			"readable by this user alone: the first sign-in asks for a new one, and the file goes once it is changed "+
			"(or set one with `captcha admin passwd -user admin`)",
			"user", service.FirstOperatorName, "password_file", passwordFile)
	}
	demo, created, err := svc.EnsureDemoApp(ctx)
	if err != nil {
		return nil, fmt.Errorf("creating the demo app: %w", err)
	}
	if created {
		log.Info("created the app of the demo page at / (disable it in the admin UI to turn the demo off)", "app", demo.Name)
	}
	return admin.New(admin.Options{
		Service: svc, Operators: ops, Renderer: r, Logger: log,
		SlowSolve:           time.Duration(cfg.Admin.SlowSolveSeconds * float64(time.Second)),
		AudioShareAlert:     cfg.Admin.AudioShareAlertPercent / 100,
		SecureCookies:       cfg.Admin.SecureCookies == SecureCookiesAlways,
		InitialPasswordFile: passwordFile,
	})
}
