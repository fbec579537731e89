package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"captcha/engine/service"
)

const adminUsage = `usage: captcha admin COMMAND [flags]

commands:
  passwd -user NAME   set or reset the password of an operator of the admin UI at /admin,
                      creating the account if it does not exist; the password is read from
                      standard input (one line), and the operator's sessions end and its
                      sign-in blocks are lifted (for admin, the file holding the password
                      of the first start is removed)

Every command takes -config FILE, -data DIR and -database URL.`

// runAdmin manages the admin UI's operator accounts directly in the database, so that an
// operator who lost the password can get back in; the server may be running meanwhile.
func runAdmin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, adminUsage)
		return &usageError{"admin: a command is required"}
	}
	name, args := args[0], args[1:]
	switch name {
	case "passwd":
		return runAdminPasswd(ctx, args, stdin, stdout, stderr)
	case "help":
		fmt.Fprintln(stdout, adminUsage)
		return nil
	}
	fmt.Fprintln(stderr, adminUsage)
	return &usageError{fmt.Sprintf("admin: unknown command %q", name)}
}

func runAdminPasswd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var common commonFlags
	fs := commandFlags("admin passwd", stderr, &common)
	user := fs.String("user", "", "the operator's user name (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *user == "" {
		return &usageError{"admin passwd: -user NAME is required"}
	}
	if !service.ValidOperatorName(*user) {
		return &usageError{"admin passwd: " + service.ErrOperatorNameInvalid.Error()}
	}
	cfg, err := configFor(common, nil)
	if err != nil {
		return err
	}
	if isTerminal(stdin) {
		fmt.Fprintf(stderr, "New password for %s (shown as typed): ", *user)
	}
	password, err := readPassword(stdin)
	if err != nil {
		return err
	}
	if err := service.CheckPassword(password); err != nil {
		return fmt.Errorf("admin passwd: %w", err)
	}
	_, db, err := openService(ctx, cfg, false, service.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	ops, err := service.NewOperators(db, service.OperatorOptions{})
	if err != nil {
		return err
	}
	if err := ops.SetPassword(ctx, *user, password); err != nil {
		return fmt.Errorf("admin passwd: %w", err)
	}
	fmt.Fprintf(stdout, "password set for %s; any session of %s has ended\n", *user, *user)
	if *user == service.FirstOperatorName {
		// The password was chosen: the generated one of the first start is no use any more.
		path := initialPasswordPath(cfg)
		removed, err := removeInitialPassword(path)
		if err != nil {
			return fmt.Errorf("admin passwd: the password is set, but removing %s failed: %w", path, err)
		}
		if removed {
			fmt.Fprintf(stdout, "removed %s, which held the password of the first start\n", path)
		}
	}
	return nil
}

// maxPasswordLine bounds what is read: far more than any password bcrypt accepts.
const maxPasswordLine = 1024

// readPassword reads the first line of r, without its line ending. Spaces are kept: they
// may be part of the password.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReaderSize(io.LimitReader(r, maxPasswordLine), maxPasswordLine).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if errors.Is(err, io.EOF) && len(line) == maxPasswordLine {
		return "", errors.New("admin passwd: the password line is too long")
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("admin passwd: no password on standard input (type it, or pipe it in: one line)")
	}
	return line, nil
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
