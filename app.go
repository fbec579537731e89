package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"captcha/engine"
	"captcha/engine/service"
)

const appUsage = `usage: captcha app COMMAND [flags]

commands:
  create -name NAME -api nhn|naver|widget [-hostnames H1,H2] [settings]
                                 register an application; prints its appkey (a widget's
                                 site key) and secret
  list                           list applications
  set-api APPKEY nhn|naver|widget
                                 switch the API an application answers in
  set-hostnames APPKEY H1,H2     set the hosts whose pages may embed a widget ("" for any)
  disable APPKEY                 stop an application's keys from being issued, served or verified
  enable APPKEY                  undo disable
  delete APPKEY                  delete an application with its keys and statistics

Every command takes -config FILE, -data DIR and -database URL; run "captcha app create -h" for the settings.`

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
	case "set-api":
		return runAppSetAPI(ctx, args, stdout, stderr)
	case "set-hostnames":
		return runAppSetHostnames(ctx, args, stdout, stderr)
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
	api := fs.String("api", "", "the one API the application answers in: "+apiChoices()+
		" (required; nhn: the appkey is the only credential, naver: appkey and secret, "+
		"widget: the appkey is the public site key, the secret verifies tokens at /siteverify)")
	hostnames := fs.String("hostnames", "", "widget only: the hosts whose pages may embed the widget, "+
		"comma-separated, such as shop.example,www.shop.example (default: any)")
	charset := fs.String("charset", string(d.Charset), "alnum, digits or hangul")
	difficulty := fs.String("difficulty", string(d.Difficulty), "easy, normal or hard")
	lang := fs.String("lang", "", "audio language, en or ko (default en; ko for hangul)")
	fs.IntVar(&d.Length, "length", d.Length, fmt.Sprintf("answer length, %d to %d", engine.MinLength, engine.MaxLength))
	fs.IntVar(&d.Width, "width", d.Width, fmt.Sprintf("image width, %d to %d", engine.MinWidth, engine.MaxWidth))
	fs.IntVar(&d.Height, "height", d.Height, fmt.Sprintf("image height, %d to %d", engine.MinHeight, engine.MaxHeight))
	fs.DurationVar(&d.KeyLifetime, "lifetime", d.KeyLifetime,
		fmt.Sprintf("how long a key may be answered, %v to %v", service.MinKeyLifetime, service.MaxKeyLifetime))
	fs.IntVar(&d.MaxAttempts, "attempts", d.MaxAttempts, fmt.Sprintf("answers allowed per key, 1 to %d", service.MaxAttemptsLimit))
	e := &d.Escalation
	fs.BoolVar(&e.Enabled, "escalate", e.Enabled, "make challenges harder for client networks whose recent answers were mostly wrong or too fast")
	fs.IntVar(&e.MinAnswers, "escalate-min-answers", e.MinAnswers,
		fmt.Sprintf("answers of a network in %v before it is judged, 1 to %d", service.EscalationWindow, service.MaxEscalateMinAnswers))
	fs.IntVar(&e.BadPercent, "escalate-bad-percent", e.BadPercent, "percent of those answers, wrong or too fast, that escalates, 1 to 100")
	fs.DurationVar(&e.FastSolve, "fast-solve", e.FastSolve,
		fmt.Sprintf("a pass quicker than this counts as a bot's, 0 to %v in tenths of a second", service.MaxFastSolve))
	fs.DurationVar(&d.TokenLifetime, "token-lifetime", d.TokenLifetime,
		fmt.Sprintf("widget only: how long a response token may be verified, %v to %v", service.MinTokenLifetime, service.MaxTokenLifetime))
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return &usageError{"app create: -name NAME is required"}
	}
	if err := checkAPI("app create", "-api", *api); err != nil {
		return err
	}
	if *hostnames != "" && service.API(*api) != service.Widget {
		return &usageError{"app create: -hostnames is for -api widget only"}
	}
	hosts, err := service.ParseHostnames(*hostnames)
	if err != nil {
		return &usageError{"app create: -" + flagError(err)}
	}
	d.Charset, d.Difficulty, d.Lang = engine.Charset(*charset), engine.Difficulty(*difficulty), engine.Lang(*lang)
	if d.Lang == "" {
		d.Lang = engine.DefaultLang(d.Charset)
	}
	if err := d.Validate(); err != nil {
		return &usageError{"app create: -" + flagError(err)}
	}
	svc, done, err := openAppService(ctx, common)
	if err != nil {
		return err
	}
	defer done()
	var app *service.App
	var secret string
	if service.API(*api) == service.Widget {
		app, secret, err = svc.CreateWidgetApp(ctx, *name, d, hosts)
	} else {
		app, secret, err = svc.CreateApp(ctx, *name, service.API(*api), d)
	}
	if errors.Is(err, service.ErrAppNameInvalid) {
		return &usageError{"app create: " + err.Error()}
	}
	if err != nil {
		return fmt.Errorf("app create: %w", err)
	}
	if app.API == service.Widget {
		fmt.Fprintf(stdout, "created application %q\napi: %s\nsitekey: %s\nsecret: %s\nhostnames: %s\n", app.Name, app.API,
			app.AppKey, secret, hostnamesText(app))
	} else {
		fmt.Fprintf(stdout, "created application %q\napi: %s\nappkey: %s\nsecret: %s\n", app.Name, app.API, app.AppKey, secret)
	}
	warnIfWeak(stderr, app.Settings)
	switch app.API {
	case service.Widget:
		fmt.Fprintln(stderr, "The secret is shown only this once: store it on your server, which sends it to /siteverify. "+
			"The site key is public: pages embed it in data-sitekey.")
	case service.Naver:
		fmt.Fprintln(stderr, "The secret is shown only this once: store it now. Naver-style clients send it as X-NCP-APIGW-API-KEY.")
	case service.NHN:
		fmt.Fprintln(stderr, "The appkey is this application's only credential: keep it on your server. Browsers load challenges by the key alone.")
	}
	return nil
}

// flagError writes a settings error as a flag's: "token-lifetime: 5s is not allowed (allowed: …)".
func flagError(err error) string {
	var fe *engine.FieldError
	if errors.As(err, &fe) { // named as the flag that sets it
		return fmt.Sprintf("%s: %v is not allowed (allowed: %s)", strings.ReplaceAll(fe.Field, "_", "-"), fe.Value, fe.Allowed)
	}
	return err.Error()
}

// hostnamesText is an app's hostnames for the app commands' output: "any" for a widget
// that any page may embed, "-" for the other dialects, which have none.
func hostnamesText(app *service.App) string {
	switch {
	case app.API != service.Widget:
		return "-"
	case len(app.Hostnames) == 0:
		return "any"
	}
	return strings.Join(app.Hostnames, ",")
}

// warnIfWeak says so when the settings let a bot that answers without reading pass too
// often: the app is created all the same, since an operator may mean it (a test site).
func warnIfWeak(stderr io.Writer, s service.AppSettings) {
	if g := s.BlindGuess(); g.Weak() {
		fmt.Fprintf(stderr, "warning: weak settings: a bot that answers without reading passes about 1 in %s keys, "+
			"more often than once in %s; use a longer -length, a larger -charset or fewer -attempts\n",
			groupThousands(g.OneIn()), groupThousands(service.MaxBlindGuessOneIn))
	}
}

// groupThousands writes n with its digits grouped by three: 2,000.
func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// apiChoices lists the dialects for flag help: "nhn|naver".
func apiChoices() string { return strings.ReplaceAll(service.APINames(), ", ", "|") }

// checkAPI refuses a dialect this server does not speak with a usage error naming the
// allowed ones.
func checkAPI(cmd, what, api string) error {
	if api == "" {
		return &usageError{fmt.Sprintf("%s: %s %s is required", cmd, what, apiChoices())}
	}
	if service.API(api).Validate() != nil {
		return &usageError{fmt.Sprintf("%s: %s %q is unknown; the APIs are %s", cmd, what, api, service.APINames())}
	}
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
	fmt.Fprintln(w, "APPKEY\tNAME\tAPI\tENABLED\tCHARSET\tLENGTH\tDIFFICULTY\tSIZE\tLANG\tLIFETIME\tATTEMPTS\tESCALATE\tHOSTNAMES\tCREATED")
	for _, a := range apps {
		s := a.Settings
		escalate := "off"
		if e := s.Escalation; e.Enabled {
			escalate = fmt.Sprintf("%d,%d%%,<%v", e.MinAnswers, e.BadPercent, e.FastSolve)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%t\t%s\t%d\t%s\t%dx%d\t%s\t%v\t%d\t%s\t%s\t%s\n", a.AppKey, a.Name, a.API, a.Enabled, s.Charset,
			s.Length, s.Difficulty, s.Width, s.Height, s.Lang, s.KeyLifetime, s.MaxAttempts, escalate, hostnamesText(a),
			a.CreatedAt.UTC().Format(time.RFC3339))
	}
	return w.Flush()
}

// runAppSetAPI switches an application's dialect: captcha app set-api APPKEY nhn|naver.
func runAppSetAPI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var common commonFlags
	fs := commandFlags("app set-api", stderr, &common)
	operands, err := parseOperands(fs, args)
	if err != nil {
		return err
	}
	if len(operands) != 2 {
		return &usageError{"usage: captcha app set-api APPKEY " + apiChoices() + " [-config FILE] [-data DIR]"}
	}
	appKey, api := operands[0], operands[1]
	if err := checkAPI("app set-api", "the API", api); err != nil {
		return err
	}
	svc, done, err := openAppService(ctx, common)
	if err != nil {
		return err
	}
	defer done()
	err = svc.SetAppAPI(ctx, appKey, service.API(api))
	if errors.Is(err, service.ErrUnknownApp) {
		return fmt.Errorf("app set-api: no application has the appkey %q (see captcha app list)", appKey)
	}
	if err != nil {
		return fmt.Errorf("app set-api: %w", err)
	}
	fmt.Fprintf(stdout, "application %s now answers in the %s API only\n", appKey, api)
	return nil
}

// runAppSetHostnames replaces the hosts whose pages may embed a widget app:
// captcha app set-hostnames APPKEY a.example,b.example ("" for any).
func runAppSetHostnames(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var common commonFlags
	fs := commandFlags("app set-hostnames", stderr, &common)
	operands, err := parseOperands(fs, args)
	if err != nil {
		return err
	}
	if len(operands) < 1 || len(operands) > 2 {
		return &usageError{`usage: captcha app set-hostnames APPKEY H1,H2 (or "" for any) [-config FILE] [-data DIR]`}
	}
	appKey, list := operands[0], ""
	if len(operands) == 2 {
		list = operands[1]
	}
	hosts, err := service.ParseHostnames(list)
	if err != nil {
		return &usageError{"app set-hostnames: " + flagError(err)}
	}
	svc, done, err := openAppService(ctx, common)
	if err != nil {
		return err
	}
	defer done()
	app, err := appOfKey(ctx, svc, appKey) // enabled or not
	if err == nil && app.API != service.Widget {
		err = service.ErrUnknownApp
	}
	if errors.Is(err, service.ErrUnknownApp) {
		return fmt.Errorf("app set-hostnames: no widget application has the appkey %q (see captcha app list)", appKey)
	}
	if err != nil {
		return fmt.Errorf("app set-hostnames: %w", err)
	}
	if err := svc.SetAppHostnames(ctx, app.ID, hosts); err != nil {
		return fmt.Errorf("app set-hostnames: %w", err)
	}
	app.Hostnames = hosts
	fmt.Fprintf(stdout, "application %s may now be embedded by pages of: %s\n", appKey, hostnamesText(app))
	return nil
}

// appOfKey finds an app by its appkey among all, enabled or not.
func appOfKey(ctx context.Context, svc *service.Service, appKey string) (*service.App, error) {
	apps, err := svc.Apps(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range apps {
		if a.AppKey == appKey {
			return a, nil
		}
	}
	return nil, service.ErrUnknownApp
}

// parseOperands parses flags that may come before, between or after the operands, and
// returns the operands.
func parseOperands(fs *flag.FlagSet, args []string) ([]string, error) {
	var operands []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil { // stops at the first operand
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		if args = fs.Args(); len(args) > 0 {
			operands, args = append(operands, args[0]), args[1:]
		}
	}
	return operands, nil
}

// runAppChange runs disable, enable or delete. The appkey may come before or after the flags.
func runAppChange(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	var common commonFlags
	fs := commandFlags("app "+cmd, stderr, &common)
	operands, err := parseOperands(fs, args)
	if err != nil {
		return err
	}
	if len(operands) != 1 {
		return &usageError{fmt.Sprintf("usage: captcha app %s APPKEY [-config FILE] [-data DIR]", cmd)}
	}
	appKey := operands[0]
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
