package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"captcha/engine"
	"captcha/engine/service"
)

const appUsage = `usage: captcha app COMMAND [flags]

commands:
  create -name NAME [settings]   register an application; prints its appkey and secret
  list                           list applications
  disable APPKEY                 stop an application's keys from being issued, served or verified
  enable APPKEY                  undo disable
  delete APPKEY                  delete an application with its keys and statistics

Every command takes -config FILE and -data DIR; run "captcha app create -h" for the settings.`

// runApp manages applications directly in the database, so the server need not run (it may:
// the database is shared safely, and the change applies to its next request).
func runApp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, appUsage)
		return &usageError{"app: a command is required"}
	}
	name, args := args[0], args[1:]
	switch name {
	case "create":
		return runAppCreate(ctx, args, stdout, stderr)
	case "list":
		return runAppList(ctx, args, stdout, stderr)
	case "disable", "enable", "delete":
		return runAppChange(ctx, name, args, stdout, stderr)
	case "help":
		fmt.Fprintln(stdout, appUsage)
		return nil
	}
	fmt.Fprintln(stderr, appUsage)
	return &usageError{fmt.Sprintf("app: unknown command %q", name)}
}

// openAppService opens the service for the app commands; they never draw challenges.
func openAppService(ctx context.Context, common commonFlags) (*service.Service, func(), error) {
	cfg, err := configFor(common, nil)
	if err != nil {
		return nil, nil, err
	}
	svc, db, err := openService(ctx, cfg, false, service.Options{})
	if err != nil {
		return nil, nil, err
	}
	return svc, func() { db.Close() }, nil
}

func runAppCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var common commonFlags
	fs := commandFlags("app create", stderr, &common)
	d := service.DefaultAppSettings()
	name := fs.String("name", "", "a name for the application, such as the site it protects (required)")
	charset := fs.String("charset", string(d.Charset), "alnum, digits or hangul")
	difficulty := fs.String("difficulty", string(d.Difficulty), "easy, normal or hard")
	lang := fs.String("lang", "", "audio language, en or ko (default en; ko for hangul)")
	fs.IntVar(&d.Length, "length", d.Length, fmt.Sprintf("answer length, %d to %d", engine.MinLength, engine.MaxLength))
	fs.IntVar(&d.Width, "width", d.Width, fmt.Sprintf("image width, %d to %d", engine.MinWidth, engine.MaxWidth))
	fs.IntVar(&d.Height, "height", d.Height, fmt.Sprintf("image height, %d to %d", engine.MinHeight, engine.MaxHeight))
	fs.DurationVar(&d.KeyLifetime, "lifetime", d.KeyLifetime,
		fmt.Sprintf("how long a key may be answered, %v to %v", service.MinKeyLifetime, service.MaxKeyLifetime))
	fs.IntVar(&d.MaxAttempts, "attempts", d.MaxAttempts, fmt.Sprintf("answers allowed per key, 1 to %d", service.MaxAttemptsLimit))
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return &usageError{"app create: -name NAME is required"}
	}
	d.Charset, d.Difficulty, d.Lang = engine.Charset(*charset), engine.Difficulty(*difficulty), engine.Lang(*lang)
	if d.Lang == "" {
		d.Lang = engine.DefaultLang(d.Charset)
	}
	if err := d.Validate(); err != nil {
		return &usageError{"app create: " + err.Error()}
	}
	svc, done, err := openAppService(ctx, common)
	if err != nil {
		return err
	}
	defer done()
	app, secret, err := svc.CreateApp(ctx, *name, d)
	if errors.Is(err, service.ErrAppNameInvalid) {
		return &usageError{"app create: " + err.Error()}
	}
	if err != nil {
		return fmt.Errorf("app create: %w", err)
	}
	fmt.Fprintf(stdout, "created application %q\nappkey: %s\nsecret: %s\n", app.Name, app.AppKey, secret)
	fmt.Fprintln(stderr, "The secret is shown only this once: store it now. Naver-style clients send it as X-NCP-APIGW-API-KEY.")
	return nil
}

func runAppList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var common commonFlags
	fs := commandFlags("app list", stderr, &common)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	svc, done, err := openAppService(ctx, common)
	if err != nil {
		return err
	}
	defer done()
	apps, err := svc.Apps(ctx)
	if err != nil {
		return fmt.Errorf("app list: %w", err)
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "APPKEY\tNAME\tENABLED\tCHARSET\tLENGTH\tDIFFICULTY\tSIZE\tLANG\tLIFETIME\tATTEMPTS\tCREATED")
	for _, a := range apps {
		s := a.Settings
		fmt.Fprintf(w, "%s\t%s\t%t\t%s\t%d\t%s\t%dx%d\t%s\t%v\t%d\t%s\n", a.AppKey, a.Name, a.Enabled, s.Charset,
			s.Length, s.Difficulty, s.Width, s.Height, s.Lang, s.KeyLifetime, s.MaxAttempts,
			a.CreatedAt.UTC().Format(time.RFC3339))
	}
	return w.Flush()
}

// runAppChange runs disable, enable or delete. The appkey may come before or after the flags.
func runAppChange(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	var common commonFlags
	fs := commandFlags("app "+cmd, stderr, &common)
	var appKey string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		appKey, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	rest := fs.Args()
	if appKey == "" && len(rest) > 0 {
		appKey, rest = rest[0], rest[1:]
	}
	if appKey == "" || len(rest) > 0 {
		return &usageError{fmt.Sprintf("usage: captcha app %s APPKEY [-config FILE] [-data DIR]", cmd)}
	}
	svc, done, err := openAppService(ctx, common)
	if err != nil {
		return err
	}
	defer done()
	switch cmd {
	case "delete":
		err = svc.DeleteApp(ctx, appKey)
	default:
		err = svc.SetAppEnabled(ctx, appKey, cmd == "enable")
	}
	if errors.Is(err, service.ErrUnknownApp) {
		return fmt.Errorf("app %s: no application has the appkey %q (see captcha app list)", cmd, appKey)
	}
	if err != nil {
		return fmt.Errorf("app %s: %w", cmd, err)
	}
	fmt.Fprintf(stdout, "%sd application %s\n", cmd, appKey) // disabled, enabled, deleted
	return nil
}
