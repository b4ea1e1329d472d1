package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
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
	// failed ends list with check i failing and the rest not run.
	failed := func(list []check, i int, detail, fix string) []check {
		list = append(list, check{Name: names[i], Detail: detail, Fix: fix})
		for _, n := range names[i+1:] {
			list = append(list, check{Name: n, Detail: "not run", Fix: "fix the check above first"})
		}
		return list
	}
	fail := func(i int, detail, fix string) []check { return failed(out, i, detail, fix) }

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
	// The steps run on their own goroutine with their own list, and always
	// send it, so nothing here touches out at the same time (the race
	// detector found the two appending to one slice).
	type outcome struct {
		checks   []check
		finished bool // false: the window went away before the checks ended
	}
	result := make(chan outcome, 1)
	base := slices.Clip(out) // the steps append to their own copy
	go func() {
		defer cancel()
		list := base
		steps := []struct{ event, detail, fix string }{
			{"page", "the window fetched the app from the core", "check that WebKitGTK can reach 127.0.0.1 (no proxy for loopback)"},
			{"connected", "the iframe fetched its single-use page and opened the sealed transport", "check that sandboxed iframes may load from a second 127.0.0.1 port"},
			{"", "the iframe derived its keys with WebCrypto HKDF, which exists only in a secure context", "WebKitGTK must offer crypto.subtle to a sandboxed iframe served from 127.0.0.1"},
			{"report", "", "see isogate's log: a sealed message did not reach the core"},
			{"done", "", "the reply did not reach the page"},
		}
		for i, st := range steps {
			if st.event == "" {
				list = append(list, check{Name: names[4], OK: true, Detail: st.detail})
				continue
			}
			switch waitFor(ctx, got, st.event) {
			case errWindowGone:
				result <- outcome{}
				return
			case errNoEvent:
				result <- outcome{failed(list, min(2+i, len(names)-1), "no "+st.event+" within "+doctorWait.String(), st.fix), true}
				return
			}
			switch st.event {
			case "page":
				list = append(list, check{Name: names[2], OK: true, Detail: st.detail})
			case "connected":
				list = append(list, check{Name: names[3], OK: true, Detail: st.detail})
			}
		}
		list = append(list, check{Name: names[5], OK: true, Detail: fmt.Sprintf("sealed call and reply (page secure context %v)", report.SecureContext)})
		result <- outcome{list, true}
	}()
	served := make(chan error, 1)
	go func() { served <- c.Serve(ctx) }()
	runErr := desktop.Run(ctx, desktop.Window{URL: c.URL(), Title: "isogate doctor", Width: 640, Height: 400})
	cancel()
	<-served
	r := <-result // the steps end at once when ctx is done
	switch {
	case runErr != nil:
		return fail(2, runErr.Error(), "run in a desktop session, or under xvfb-run")
	case !r.finished:
		return fail(2, "the window closed before the checks finished", "leave the doctor's window open until it is done")
	}
	return r.checks
}

var (
	errNoEvent    = errors.New("no event in time")
	errWindowGone = errors.New("the window went away")
)

// waitFor waits for one event, skipping others already seen, for at most
// doctorWait, or until ctx is done.
func waitFor(ctx context.Context, got <-chan string, event string) error {
	deadline := time.NewTimer(doctorWait)
	defer deadline.Stop()
	for {
		select {
		case e := <-got:
			if e == event {
				return nil
			}
		case <-deadline.C:
			return errNoEvent
		case <-ctx.Done():
			return errWindowGone
		}
	}
}
