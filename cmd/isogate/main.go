// Command isogate wraps a web app in isogate's isolation pattern. This file
// holds flags and wiring only; the work is in the packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/isogate/isogate/core"
	"github.com/isogate/isogate/demo"
	"github.com/isogate/isogate/policy"
)

const usage = `usage:
  isogate demo [--browser] [--port N]
  isogate run --app DIR --policy DIR [--browser] [--port N]
`

// usageError is bad input from the command line: one line, exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func badf(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "isogate: "+strings.ReplaceAll(err.Error(), "\n", " "))
	var ue usageError
	if errors.As(err, &ue) {
		os.Exit(2)
	}
	os.Exit(1)
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return badf("no command given")
	}
	switch args[0] {
	case "demo":
		return cmdDemo(args[1:], stdout, stderr)
	case "run":
		return cmdRun(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return badf("unknown command %q (want demo or run)", args[0])
}

// serveFlags are the flags every serving command takes.
type serveFlags struct {
	browser bool
	port    int
}

func (s *serveFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&s.browser, "browser", false, "serve for a browser instead of opening a window")
	fs.IntVar(&s.port, "port", 0, "app port on 127.0.0.1 (0 picks a free one)")
}

func parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return badf("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return badf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

func cmdDemo(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("demo", flag.ContinueOnError)
	var sf serveFlags
	sf.register(fl)
	if err := parse(fl, args); err != nil {
		return err
	}
	return serve(sf, demo.App(), demo.Policy(), demo.Register, stdout, stderr)
}

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("run", flag.ContinueOnError)
	var sf serveFlags
	sf.register(fl)
	app := fl.String("app", "", "directory of the built app")
	pol := fl.String("policy", "", "policy directory")
	if err := parse(fl, args); err != nil {
		return err
	}
	if *app == "" || *pol == "" {
		return badf("run: --app and --policy are required")
	}
	for _, d := range []string{*app, *pol} {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return badf("run: %s is not a directory", d)
		}
	}
	return serve(sf, os.DirFS(*app), os.DirFS(*pol), nil, stdout, stderr)
}

// serve loads the policy, starts the core and serves until SIGINT/SIGTERM.
func serve(sf serveFlags, app, pol fs.FS, register func(*core.Core), stdout, stderr io.Writer) error {
	if sf.port < 0 || sf.port > 65535 {
		return badf("--port %d is out of range", sf.port)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p, err := policy.Load(ctx, pol)
	if err != nil {
		return badf("policy: %v", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	c, err := core.New(core.Config{App: app, Policy: p, Addr: fmt.Sprintf("127.0.0.1:%d", sf.port), Logger: log})
	if err != nil {
		return err
	}
	if register != nil {
		register(c)
	}
	if !sf.browser && os.Getenv("DISPLAY") != "" {
		fmt.Fprintln(stderr, "isogate: the desktop window is not built yet; serving for a browser")
	}
	fmt.Fprintln(stdout, c.URL())
	return c.Serve(ctx)
}
