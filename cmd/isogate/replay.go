package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/isogate/isogate/policy"
)

// policyReplay re-decides a decision log with another policy and reports
// what would change (policy.ReplayLog): the question a policy change asks
// before it ships. --fail-on allow makes it a CI gate.
func policyReplay(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("policy replay", flag.ContinueOnError)
	logPath := fl.String("log", "", "the decision log to replay (JSON lines, as --decision-log writes)")
	failOn := fl.String("fail-on", "", "exit 1 when a decision would change this way: allow (newly allowed) or change (any change)")
	examples := fl.Int("examples", 3, "inputs shown per group of changes")
	format := fl.String("format", "text", "text or json")
	src, err := policyDir("policy replay", fl, args)
	if err != nil {
		return err
	}
	switch {
	case *logPath == "":
		return badf("policy replay: --log FILE is required")
	case *failOn != "" && *failOn != "allow" && *failOn != "change":
		return badf("policy replay: --fail-on %q: want allow or change", *failOn)
	case *examples < 0:
		return badf("policy replay: --examples must not be negative")
	case *format != "text" && *format != "json":
		return badf("policy replay: --format %q: want text or json", *format)
	}
	f, err := os.Open(*logPath)
	if err != nil {
		return badf("policy replay: --log: %v", err)
	}
	defer f.Close()
	ctx := context.Background()
	p, err := src.load(ctx)
	if err != nil {
		return exitError{1, err.Error()}
	}
	r, err := policy.ReplayLog(ctx, p, f, *examples)
	if err != nil {
		return exitError{1, "policy replay: " + *logPath + ": " + err.Error()}
	}
	if *format == "json" {
		b, _ := json.MarshalIndent(r, "", "  ")
		fmt.Fprintln(stdout, string(b))
	} else {
		replayText(stdout, r, p.Revision())
	}
	if *failOn == "allow" && r.NewlyAllowed() > 0 || *failOn == "change" && r.Changed > 0 {
		return exitError{code: 1}
	}
	return nil
}

func replayText(w io.Writer, r *policy.Replay, revision string) {
	fmt.Fprintf(w, "replayed %d of %d decisions with revision %s: %d unchanged, %d changed (%d newly allowed)\n",
		r.Replayed, r.Decisions, revision, r.Unchanged, r.Changed, r.NewlyAllowed())
	if r.Masked+r.Unsealed > 0 {
		fmt.Fprintf(w, "not replayed: %d with a masked or withheld input, %d unsealed requests (refused before any policy)\n", r.Masked, r.Unsealed)
	}
	verdict := func(v policy.Verdict) string {
		if v.Allow {
			return "allowed"
		}
		return fmt.Sprintf("%s %q", v.Code, v.Reasons)
	}
	for _, g := range r.Groups {
		fmt.Fprintf(w, "\n%-28s %6d  %s %s\n", g.Change, g.Count, g.Kind, g.Name)
		fmt.Fprintf(w, "  was: %s\n  now: %s\n", verdict(g.Was), verdict(g.Now))
		for _, in := range g.Examples {
			b, _ := json.Marshal(in)
			fmt.Fprintf(w, "  e.g. %s\n", strings.TrimSpace(string(b)))
		}
	}
}
