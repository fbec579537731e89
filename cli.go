package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// usageError marks a mistake on the command line: exit code 2, like the flag package.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var u *usageError
	if errors.As(err, &u) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

const usage = `usage: captcha [command] [flags]

commands:
  serve   run the CAPTCHA server (the default)
  app     create, list, disable, enable or delete applications (run "captcha app help")
  admin   set an admin UI password: captcha admin passwd -user NAME (password on stdin)
  gen     write sample challenges to a directory
  backup  copy the SQLite database while the server runs: captcha backup -out FILE
  restore replace the SQLite database with a backup, the server stopped: captcha restore -in FILE
  version print the version

Every command takes -config FILE, -data DIR and -database URL (PostgreSQL). Run "captcha COMMAND -h" for its flags.`

// run parses the subcommand and hands the rest of the arguments to it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	switch name {
	case "serve":
		return runServe(ctx, args, stdout, stderr)
	case "app":
		return runApp(ctx, args, stdout, stderr)
	case "admin":
		return runAdmin(ctx, args, stdin, stdout, stderr)
	case "gen":
		return runGen(ctx, args, stdout, stderr)
	case "version":
		return runVersion(ctx, args, stdout, stderr)
	case "backup":
		return runBackup(ctx, args, stdout, stderr)
	case "restore":
		return runRestore(ctx, args, stdout, stderr)
	case "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return &usageError{fmt.Sprintf("unknown command %q", name)}
}

// commandFlags makes a flag set that reports errors instead of exiting, with the flags
// every command shares.
func commandFlags(name string, stderr io.Writer, o *commonFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("captcha "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.config, "config", "", "TOML configuration file (env CAPTCHA_CONFIG)")
	fs.StringVar(&o.data, "data", "", "data directory (env CAPTCHA_DATA; default ./data)")
	fs.StringVar(&o.database, "database", "", "PostgreSQL URL, postgres://… (env CAPTCHA_DATABASE_URL; default SQLite in the data directory)")
	return fs
}

type commonFlags struct {
	config   string
	data     string
	database string
}

// parseFlags parses args and turns a parse failure into a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}
