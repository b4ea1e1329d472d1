package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/isogate/isogate/audit"
	"github.com/isogate/isogate/core"
	"github.com/isogate/isogate/demo"
	"github.com/isogate/isogate/desktop"
	"github.com/isogate/isogate/fleet"
	"github.com/isogate/isogate/httpapi"
	"github.com/isogate/isogate/jsonrpc"
	"github.com/isogate/isogate/policy"
	"github.com/isogate/isogate/tauri"
)

// serveFlags are the flags every serving command takes.
type serveFlags struct {
	browser     bool
	title       string
	width       int
	height      int
	port        int
	decisionLog string
	opaConfig   string // --config
	audit       string // --audit ADDR
	dryRun      bool
	windows     labels
	limits      core.Limits
}

// apiFlags collects the repeatable --api flag.
type apiFlags []string

func (a *apiFlags) String() string     { return strings.Join(*a, ",") }
func (a *apiFlags) Set(v string) error { *a = append(*a, v); return nil }

// labels collects the repeatable --window flag.
type labels []string

func (l *labels) String() string { return strings.Join(*l, ",") }

func (l *labels) Set(v string) error {
	if err := core.CheckLabel(v); err != nil {
		return err
	}
	for _, have := range *l { // the first window's label is checked once it is known (a Tauri app names it)
		if have == v {
			return fmt.Errorf("window label %q given twice", v)
		}
	}
	*l = append(*l, v)
	return nil
}

// checkWindows refuses a --window with the first window's label.
func (s *serveFlags) checkWindows(cmd, mainLabel string) error {
	if slices.Contains(s.windows, mainLabel) {
		return badf("%s: window label %q given twice: it is the first window's", cmd, mainLabel)
	}
	return nil
}

func (s *serveFlags) register(fs *flag.FlagSet) {
	d := core.DefaultLimits()
	fs.BoolVar(&s.browser, "browser", false, "serve for a browser instead of opening a window")
	fs.StringVar(&s.title, "title", "", "window title")
	fs.IntVar(&s.width, "width", 1100, "window width")
	fs.IntVar(&s.height, "height", 780, "window height")
	fs.IntVar(&s.port, "port", 0, "app port on 127.0.0.1 (0 picks a free one)")
	fs.StringVar(&s.decisionLog, "decision-log", "", "append a JSON line per decision to FILE")
	fs.StringVar(&s.audit, "audit", "", "serve the audit page and /metrics on this loopback ADDR (127.0.0.1:0 picks a port), behind a token of its own")
	fs.StringVar(&s.opaConfig, "config", "", "an OPA configuration file (services, bundles, keys, decision_logs, status, labels): the policy comes from its bundle")
	fs.BoolVar(&s.dryRun, "dry-run", false, "decide and log, but let denied messages through")
	fs.Var(&s.windows, "window", "open another window with this label (repeatable; the first is \"main\")")
	fs.Int64Var(&s.limits.MaxMessageBytes, "max-message-bytes", d.MaxMessageBytes, "largest message from a page (too_large above)")
	fs.Int64Var(&s.limits.MaxBinaryBytes, "max-binary-bytes", d.MaxBinaryBytes, "most raw bytes in a message from a page (too_large above)")
	fs.IntVar(&s.limits.MaxDepth, "max-depth", d.MaxDepth, "deepest JSON nesting in a message")
	fs.IntVar(&s.limits.MaxInFlight, "max-in-flight", d.MaxInFlight, "calls handled at once per page (rate_limited above)")
	fs.IntVar(&s.limits.RatePerSecond, "rate", d.RatePerSecond, "messages per second per page (rate_limited above)")
	fs.IntVar(&s.limits.RateBurst, "burst", d.RateBurst, "messages a page may send at once before --rate applies")
	fs.DurationVar(&s.limits.CallTimeout, "call-timeout", d.CallTimeout, "longest a command may run (timeout above)")
}

func (s *serveFlags) validate() error {
	switch {
	case s.port < 0 || s.port > 65535:
		return badf("--port %d is out of range", s.port)
	case s.width < 200 || s.height < 150 || s.width > 16384 || s.height > 16384:
		return badf("--width and --height must be between 200x150 and 16384x16384")
	}
	// Every limit flag is set (to its default unless given), so a zero is
	// the user's: it would silently mean the default in core.Limits.
	l := s.limits
	flags := []struct {
		flag, field string
		v           int64
	}{
		{"max-message-bytes", "MaxMessageBytes", l.MaxMessageBytes}, {"max-binary-bytes", "MaxBinaryBytes", l.MaxBinaryBytes},
		{"max-depth", "MaxDepth", int64(l.MaxDepth)}, {"max-in-flight", "MaxInFlight", int64(l.MaxInFlight)},
		{"rate", "RatePerSecond", int64(l.RatePerSecond)}, {"burst", "RateBurst", int64(l.RateBurst)},
		{"call-timeout", "CallTimeout", int64(l.CallTimeout)},
	}
	for _, f := range flags {
		if f.v <= 0 {
			return badf("--%s must be positive", f.flag)
		}
	}
	var le *core.LimitError
	if err := l.Validate(); errors.As(err, &le) {
		for _, f := range flags {
			if f.field == le.Field {
				if f.flag == "call-timeout" {
					return badf("--%s is at most %s", f.flag, time.Duration(le.Max))
				}
				return badf("--%s is at most %d", f.flag, le.Max)
			}
		}
		return badf("limits: %v", err)
	}
	return nil
}

// app is what a serving command wraps.
type app struct {
	fs       fs.FS
	url      *url.URL
	policy   fs.FS
	watch    bool // reload the policy when its directory changes
	register func(context.Context, *core.Core) error
	api      httpapi.Routes // the app's own HTTP API prefixes
	// upstream makes the backend; core.Serve starts and stops it.
	upstream func(*slog.Logger, io.Writer) core.Upstream
	tauri    *tauri.Config // --tauri: a Tauri frontend, with Go built-ins for plugin:app and plugin:path
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
	if err := sf.checkWindows("demo", core.DefaultWindow); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "isogate-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	notes, err := demo.NotesDir(tmp)
	if err != nil {
		return err
	}
	if sf.title == "" {
		sf.title = "isogate demo"
	}
	return serve(sf, app{
		fs: demo.App(), policy: demo.Policy(),
		register: func(ctx context.Context, c *core.Core) error { return demo.Register(ctx, c, notes) },
		api:      httpapi.Routes{{Prefix: "/api", Handler: demo.API(notes)}},
	}, stdout, stderr)
}

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("run", flag.ContinueOnError)
	var sf serveFlags
	sf.register(fl)
	appArg := fl.String("app", "", "directory of the built app, or the URL of its dev server")
	pol := fl.String("policy", "", "policy directory")
	upURL := fl.String("upstream", "", "JSON-RPC backend over HTTP POST")
	upCmd := fl.String("upstream-cmd", "", "JSON-RPC backend over stdio: the command line to start")
	var apis apiFlags
	fl.Var(&apis, "api", "PREFIX=URL: the app's own HTTP API under PREFIX, at URL, only through the gate (repeatable; PREFIX alone: the dev server of --app URL)")
	tauriConf := fl.String("tauri", "", "a Tauri v2 app's tauri.conf.json: serve its frontend (build.frontendDist, unless --app) as Tauri would")
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if err := positional("run", pos); err != nil {
		return err
	}
	a := app{watch: true}
	if *tauriConf != "" {
		if a.tauri, err = tauri.ReadConfig(*tauriConf); err != nil {
			return badf("run: --tauri: %v", err)
		}
		if *appArg == "" {
			*appArg = a.tauri.FrontendDist
		}
		if sf.title == "" {
			sf.title = a.tauri.Window.Title
		}
		if !flagGiven(fl, "width") && !flagGiven(fl, "height") {
			sf.width, sf.height = a.tauri.Window.Width, a.tauri.Window.Height
		}
	}
	mainLabel := core.DefaultWindow
	if a.tauri != nil {
		mainLabel = a.tauri.Window.Label
	}
	if err := sf.checkWindows("run", mainLabel); err != nil {
		return err
	}
	switch {
	case sf.opaConfig != "" && *pol != "":
		return badf("run: give --policy or --config, not both: with --config the policy comes from the bundle")
	case sf.opaConfig != "":
	case *appArg == "" || *pol == "":
		return badf("run: --app (or --tauri) and --policy are required")
	default:
		a.policy = os.DirFS(*pol)
	}
	if *appArg == "" {
		return badf("run: --app (or --tauri) is required")
	}
	if sf.title == "" {
		sf.title = "isogate: " + *appArg
	}
	if strings.HasPrefix(*appArg, "http://") || strings.HasPrefix(*appArg, "https://") {
		if a.url, err = url.Parse(*appArg); err != nil || a.url.Host == "" {
			return badf("run: --app %q is not a valid URL", *appArg)
		}
	} else {
		if err := isDir("run", *appArg); err != nil {
			return err
		}
		a.fs = os.DirFS(*appArg)
	}
	if *pol != "" {
		if err := isDir("run", *pol); err != nil {
			return err
		}
	}
	for _, spec := range apis {
		r, err := httpapi.ParseRoute(spec, a.url)
		if err != nil {
			return badf("run: %v", err)
		}
		a.api = append(a.api, r)
	}
	if err := a.api.Validate(); err != nil {
		return badf("run: --api: %v", err)
	}
	switch {
	case *upURL != "" && *upCmd != "":
		return badf("run: give --upstream or --upstream-cmd, not both")
	case *upURL != "":
		u, err := url.Parse(*upURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return badf("run: --upstream %q is not an http(s) URL", *upURL)
		}
		a.upstream = func(log *slog.Logger, _ io.Writer) core.Upstream { return jsonrpc.NewHTTP(u.String(), nil, log) }
	case *upCmd != "":
		argv, err := splitCommand(*upCmd)
		if err != nil || len(argv) == 0 {
			return badf("run: --upstream-cmd %q: %v", *upCmd, err)
		}
		a.upstream = func(log *slog.Logger, stderr io.Writer) core.Upstream { return jsonrpc.NewStdio(argv, stderr, log) }
	}
	return serve(sf, a, stdout, stderr)
}

// policyPoll is how often `run` looks for policy changes.
const policyPoll = time.Second

// serve loads the policy, starts the core and serves until SIGINT/SIGTERM.
func serve(sf serveFlags, a app, stdout, stderr io.Writer) error {
	if err := sf.validate(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var p *policy.Policy
	var config []byte // --config: an OPA configuration; the policy comes from its bundle
	var err error
	if sf.opaConfig != "" {
		if config, err = os.ReadFile(sf.opaConfig); err != nil {
			return badf("--config: %v", err)
		}
		a.watch = false
		p = policy.Pending("no policy bundle has been activated yet")
	} else if p, err = policy.Load(ctx, a.policy); err != nil {
		return badf("policy: %v", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg := core.Config{App: a.fs, AppURL: a.url, Policy: p, Addr: fmt.Sprintf("127.0.0.1:%d", sf.port),
		Logger: log, DryRun: sf.dryRun, Limits: sf.limits, API: a.api}
	if a.tauri != nil {
		cfg.MainWindow = a.tauri.Window.Label
		cfg.Tauri = &core.Tauri{Global: a.tauri.Global, CSP: a.tauri.CSP}
		if a.tauri.IsolationDir != "" {
			if cfg.Tauri.Hook, err = tauri.IsolationHook(a.tauri.IsolationDir); err != nil {
				return badf("--tauri: %v", err)
			}
		}
	}
	if sf.decisionLog != "" {
		if cfg.DecisionLog, err = policy.OpenDecisionLog(sf.decisionLog); err != nil {
			return badf("--decision-log: %v", err)
		}
		defer cfg.DecisionLog.Close()
	} else if config != nil || sf.audit != "" {
		cfg.DecisionLog = policy.NewDecisionLog(nil) // no file: the decisions go to the sinks alone
	}
	if a.upstream != nil {
		cfg.Upstream = a.upstream(log, stderr)
	}
	if sf.dryRun {
		fmt.Fprintln(stderr, "isogate: DRY RUN: the policy is NOT enforced; denied messages are logged and let through")
	}
	c, err := core.New(cfg)
	if err != nil {
		return err
	}
	// The audit page, on a port of its own: its line goes to stderr before
	// anything is served, so scripts can read it.
	var aud *audit.Server
	if sf.audit != "" {
		aud = audit.New(log, c.Stats)
		l, u, err := aud.Listen(sf.audit)
		if err != nil {
			return badf("%v", err)
		}
		cfg.DecisionLog.AddSink(aud.Record)
		if !p.IsPending() {
			aud.SetRevision(p.Revision())
		}
		fmt.Fprintln(stderr, "audit: "+u)
		go aud.Serve(ctx, l)
	}
	activated := func(p *policy.Policy) {
		c.SetPolicy(p)
		if aud != nil {
			aud.PolicyActivated(p.Revision())
		}
	}
	refused := func() {
		if aud != nil {
			aud.PolicyRefused()
		}
	}
	if a.register != nil {
		if err := a.register(ctx, c); err != nil {
			return err
		}
	}
	if a.tauri != nil {
		tauri.Register(c, tauri.Info{Name: a.tauri.ProductName, Version: a.tauri.Version, Identifier: a.tauri.Identifier})
	}
	if config != nil {
		if sf.decisionLog == "" {
			// OPA's plugin buffers in memory and drops under pressure (its
			// own buffer limits, and fleet.QueueSize before it): with no
			// file, that is the only record, and a best-effort one.
			log.Warn("--config without --decision-log: decisions go only to OPA's decision-log plugin, which may drop them; give --decision-log FILE for a durable record")
		}
		f, err := fleet.Start(ctx, config, instanceID(), log,
			func(p *policy.Policy) {
				activated(p)
				log.Info("policy bundle activated", "revision", p.Revision())
			},
			func(err error) {
				refused()
				log.Error("policy bundle refused; the last good policy keeps serving", "err", err)
			})
		if err != nil {
			return badf("--config: %v", err)
		}
		defer f.Stop(context.WithoutCancel(ctx))
		cfg.DecisionLog.AddSink(f.Log)
		if aud != nil {
			aud.CountDropped(f.Dropped)
		}
	}
	if a.watch {
		w := policy.NewWatcher(a.policy, p,
			func(p *policy.Policy) { activated(p); log.Info("policy reloaded", "revision", p.Revision()) },
			func(err error) {
				refused()
				log.Error("policy reload refused; the last good policy keeps serving", "err", err)
			})
		go w.Run(ctx, policyPoll)
	}
	wins := []desktop.Window{{Label: c.MainWindow(), URL: c.URL(), Title: sf.title, Width: sf.width, Height: sf.height}}
	for _, label := range sf.windows {
		u, err := c.OpenWindow(label)
		if err != nil {
			return err
		}
		wins = append(wins, desktop.Window{Label: label, URL: u, Title: sf.title + " (" + label + ")", Width: sf.width, Height: sf.height})
	}
	ctl := desktop.NewControls()
	if a.tauri != nil { // before Serve: the window calls a Tauri frontend makes
		if !sf.browser && desktop.Available() {
			tauri.RegisterWindows(c, ctl)
		} else {
			tauri.RegisterWindows(c, tauri.NoWindows)
		}
	}
	if sf.browser || !desktop.Available() {
		fmt.Fprintln(stdout, c.URL()) // alone on the first line: scripts and tests read it
		for i, label := range sf.windows {
			fmt.Fprintf(stderr, "window %s: %s\n", label, wins[i+1].URL)
		}
		if !sf.browser {
			fmt.Fprintln(stderr, "isogate: no display for a window; serving for a browser at the URL above")
		}
		return c.Serve(ctx)
	}
	fmt.Fprintln(stdout, c.Origin()+"/") // the window was handed its token; it is not printed
	return window(ctx, c, ctl, wins)
}

// window serves the core in the background and runs the window on this, the
// main, goroutine. Closing the window or a signal ends both; the deferred
// closes of serve then stop the backend and flush the decision log.
func window(ctx context.Context, c *core.Core, ctl *desktop.Controls, w []desktop.Window) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	go func() {
		served <- c.Serve(ctx)
		cancel() // a core that stops (a backend that cannot start) closes the windows
	}()
	err := desktop.RunWith(ctx, ctl, w...)
	cancel()
	if serr := <-served; err == nil {
		err = serr
	}
	return err
}

// splitCommand splits a command line into words, honouring single and double
// quotes and backslash escapes; no other shell syntax.
func splitCommand(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, quote := false, rune(0)
	for i := 0; i < len(s); i++ {
		ch := rune(s[i])
		switch {
		case quote != 0 && ch == quote:
			quote = 0
		case quote == '\'':
			cur.WriteRune(ch)
		case ch == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case quote == '"':
			cur.WriteRune(ch)
		case ch == '\'' || ch == '"':
			quote, inWord = ch, true
		case ch == ' ' || ch == '\t' || ch == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(ch)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// flagGiven reports whether name was set on the command line.
func flagGiven(fl *flag.FlagSet, name string) bool {
	given := false
	fl.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// instanceID names this install to OPA's services (decision logs, status).
func instanceID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
