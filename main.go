// Command captcha is a self-hosted CAPTCHA server: it draws image and audio challenges and
// serves them through APIs compatible with the NHN Cloud and Naver Cloud CAPTCHA services.
//
// main only wires signals and the exit code; run holds the command line.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "captcha:", err)
		os.Exit(exitCode(err))
	}
}
