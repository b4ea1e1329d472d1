package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/isogate/isogate/cmd/isogate/doctorapp"
	"github.com/isogate/isogate/core"
	"github.com/isogate/isogate/desktop"
	"github.com/isogate/isogate/policy"
)

// doctorWait bounds each step of the window checks.
const doctorWait = 30 * time.Second

// check is one line of the doctor's report.
type check struct {
	Name   string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
	Fix    string `json:"fix,omitempty"`
}

func cmdDoctor(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("doctor", flag.ContinueOnError)
	asJSON := fl.Bool("json", false, "print the report as JSON")
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if err := positional("doctor", pos); err != nil {
		return err
	}
	checks := runDoctor()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(checks)
	} else {
		for _, c := range checks {
			mark := "✓"
			if !c.OK {
				mark = "✗"
			}
			line := fmt.Sprintf("%s %s", mark, c.Name)
			if c.Detail != "" {
				line += ": " + c.Detail
			}
			if !c.OK && c.Fix != "" {
				line += " — fix: " + c.Fix
			}
			fmt.Fprintln(stdout, line)
		}
	}
	for _, c := range checks {
		if !c.OK {
			return exitError{code: 1}
		}
	}
	return nil
}

// runDoctor runs every check; after the first failure the rest are reported
// as not run, with the failing one's fix.
func runDoctor() []check {
	names := []string{
		"display",
		"WebKitGTK",
		"window opens and loads the app",
		"isolation iframe loads in the window",
		"secure context and crypto.subtle in the sandboxed iframe",
		"invoke round trip through the gate",
	}
	out := make([]check, 0, len(names))
	fail := func(i int, detail, fix string) []check {
		out = append(out, check{Name: names[i], Detail: detail, Fix: fix})
		for _, n := range names[i+1:] {
			out = append(out, check{Name: n, Detail: "not run", Fix: "fix the check above first"})
		}
		return out
	}

	display := os.Getenv("DISPLAY")
	if display == "" {
		display = os.Getenv("WAYLAND_DISPLAY")
	}
	if !desktop.Available() {
		if desktop.WebKitVersion() == "" {
			return fail(0, "this binary has no window support", "build isogate with cgo and the GTK/WebKitGTK dev packages (make installs them)")
		}
		return fail(0, fmt.Sprintf("cannot open %q", display), "run in a desktop session, or under xvfb-run for a virtual display")
	}
	out = append(out, check{Name: names[0], OK: true, Detail: display})
	out = append(out, check{Name: names[1], OK: true, Detail: "webkit2gtk " + desktop.WebKitVersion()})

	got := make(chan string, 16)
	observe := func(event, _ string) {
		select {
		case got <- event:
		default:
		}
	}
	p, err := policy.Load(context.Background(), doctorapp.Policy())
	if err != nil {
		return fail(2, err.Error(), "this is a bug in isogate; please report it")
	}
	c, err := core.New(core.Config{App: doctorapp.App(), Policy: p, Observe: observe,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return fail(2, err.Error(), "free a loopback port")
	}
	var report struct {
		SecureContext bool   `json:"secureContext"`
		Subtle        bool   `json:"subtle"`
		UserAgent     string `json:"userAgent"`
	}
	core.Command(c, "doctor.report", func(_ context.Context, r struct {
		SecureContext bool   `json:"secureContext"`
		Subtle        bool   `json:"subtle"`
		UserAgent     string `json:"userAgent"`
	}) (struct{}, error) {
		report = r
		got <- "report"
		return struct{}{}, nil
	})
	core.Command(c, "doctor.done", func(context.Context, struct{}) (struct{}, error) {
		got <- "done"
		return struct{}{}, nil
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	result := make(chan []check, 1)
	go func() {
		defer cancel()
		steps := []struct{ event, detail, fix string }{
			{"page", "the window fetched the app from the core", "check that WebKitGTK can reach 127.0.0.1 (no proxy for loopback)"},
			{"connected", "the iframe fetched its single-use page and opened the sealed transport", "check that sandboxed iframes may load from a second 127.0.0.1 port"},
			{"", "the iframe derived its keys with WebCrypto HKDF, which exists only in a secure context", "WebKitGTK must offer crypto.subtle to a sandboxed iframe served from 127.0.0.1"},
			{"report", "", "see isogate's log: a sealed message did not reach the core"},
			{"done", "", "the reply did not reach the page"},
		}
		for i, st := range steps {
			if st.event == "" {
				out = append(out, check{Name: names[4], OK: true, Detail: st.detail})
				continue
			}
			if !waitFor(got, st.event) {
				result <- fail(min(2+i, len(names)-1), "no "+st.event+" within "+doctorWait.String(), st.fix)
				return
			}
			switch st.event {
			case "page":
				out = append(out, check{Name: names[2], OK: true, Detail: st.detail})
			case "connected":
				out = append(out, check{Name: names[3], OK: true, Detail: st.detail})
			}
		}
		out = append(out, check{Name: names[5], OK: true, Detail: fmt.Sprintf("sealed call and reply (page secure context %v)", report.SecureContext)})
		result <- out
	}()
	served := make(chan error, 1)
	go func() { served <- c.Serve(ctx) }()
	if err := desktop.Run(ctx, desktop.Window{URL: c.URL(), Title: "isogate doctor", Width: 640, Height: 400}); err != nil {
		cancel()
		<-served
		return fail(2, err.Error(), "run in a desktop session, or under xvfb-run")
	}
	cancel()
	<-served
	select {
	case r := <-result:
		return r
	default:
		return fail(2, "the window closed before the checks finished", "leave the doctor's window open until it is done")
	}
}

// waitFor waits for one event, skipping others already seen.
func waitFor(got <-chan string, event string) bool {
	deadline := time.After(doctorWait)
	for {
		select {
		case e := <-got:
			if e == event {
				return true
			}
		case <-deadline:
			return false
		}
	}
}
