package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/isogate/isogate/core"
	"github.com/isogate/isogate/demo"
	"github.com/isogate/isogate/policy"
)

// serveFlags are the flags every serving command takes.
type serveFlags struct {
	browser     bool
	port        int
	decisionLog string
	dryRun      bool
}

func (s *serveFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&s.browser, "browser", false, "serve for a browser instead of opening a window")
	fs.IntVar(&s.port, "port", 0, "app port on 127.0.0.1 (0 picks a free one)")
	fs.StringVar(&s.decisionLog, "decision-log", "", "append a JSON line per decision to FILE")
	fs.BoolVar(&s.dryRun, "dry-run", false, "decide and log, but let denied messages through")
}

func cmdDemo(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("demo", flag.ContinueOnError)
	var sf serveFlags
	sf.register(fl)
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if err := positional("demo", pos); err != nil {
		return err
	}
	return serve(sf, demo.App(), demo.Policy(), false, demo.Register, stdout, stderr)
}

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("run", flag.ContinueOnError)
	var sf serveFlags
	sf.register(fl)
	app := fl.String("app", "", "directory of the built app")
	pol := fl.String("policy", "", "policy directory")
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if err := positional("run", pos); err != nil {
		return err
	}
	if *app == "" || *pol == "" {
		return badf("run: --app and --policy are required")
	}
	for _, d := range []string{*app, *pol} {
		if err := isDir("run", d); err != nil {
			return err
		}
	}
	return serve(sf, os.DirFS(*app), os.DirFS(*pol), true, nil, stdout, stderr)
}

// policyPoll is how often `run` looks for policy changes.
const policyPoll = time.Second

// serve loads the policy, starts the core and serves until SIGINT/SIGTERM.
func serve(sf serveFlags, app, pol fs.FS, watch bool, register func(*core.Core), stdout, stderr io.Writer) error {
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
	cfg := core.Config{App: app, Policy: p, Addr: fmt.Sprintf("127.0.0.1:%d", sf.port), Logger: log, DryRun: sf.dryRun}
	if sf.decisionLog != "" {
		if cfg.DecisionLog, err = policy.OpenDecisionLog(sf.decisionLog); err != nil {
			return badf("--decision-log: %v", err)
		}
		defer cfg.DecisionLog.Close()
		cfg.DecisionLog.DryRun = sf.dryRun
	}
	if sf.dryRun {
		fmt.Fprintln(stderr, "isogate: DRY RUN: the policy is NOT enforced; denied messages are logged and let through")
	}
	c, err := core.New(cfg)
	if err != nil {
		return err
	}
	if register != nil {
		register(c)
	}
	if watch {
		w := policy.NewWatcher(pol, p,
			func(p *policy.Policy) { c.SetPolicy(p); log.Info("policy reloaded", "revision", p.Revision) },
			func(err error) { log.Error("policy reload refused; the last good policy keeps serving", "err", err) })
		go w.Run(ctx, policyPoll)
	}
	if !sf.browser && os.Getenv("DISPLAY") != "" {
		fmt.Fprintln(stderr, "isogate: the desktop window is not built yet; serving for a browser")
	}
	fmt.Fprintln(stdout, c.URL())
	return c.Serve(ctx)
}
