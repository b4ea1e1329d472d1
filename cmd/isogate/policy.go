package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing/fstest"
	"time"

	"github.com/isogate/isogate/policy"
	"github.com/open-policy-agent/opa/v1/bundle"
)

func cmdPolicy(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return badf("policy: missing subcommand (check, test, eval, build, fmt, lint or replay)")
	}
	switch args[0] {
	case "check":
		return policyCheck(args[1:], stdout)
	case "test":
		return policyTest(args[1:], stdout)
	case "eval":
		return policyEval(args[1:], stdout)
	case "build":
		return policyBuild(args[1:], stdout)
	case "fmt":
		return policyFmt(args[1:], stdout)
	case "lint":
		return policyLint(args[1:], stdout)
	case "replay":
		return policyReplay(args[1:], stdout)
	}
	return badf("policy: unknown subcommand %q (want check, test, eval, build, fmt, lint or replay)", args[0])
}

// source is a policy as check, test and eval take it: a directory, or a
// bundle file built from one (isogate policy build).
type source struct {
	fs     fs.FS          // the directory, or the bundle's files as one (tests included)
	bundle *bundle.Bundle // set for a bundle file
}

// load is the policy of s, with a bundle's revision.
func (s source) load(ctx context.Context) (*policy.Policy, error) {
	if s.bundle != nil {
		return policy.LoadBundle(ctx, s.bundle)
	}
	return policy.Load(ctx, s.fs)
}

func policyDir(cmd string, fl *flag.FlagSet, args []string) (source, error) {
	pos, err := parse(fl, args)
	if err != nil {
		return source{}, err
	}
	if err := positional(cmd, pos, "DIR"); err != nil {
		return source{}, err
	}
	if st, err := os.Stat(pos[0]); err == nil && st.Mode().IsRegular() {
		f, err := os.Open(pos[0])
		if err != nil {
			return source{}, badf("%s: %v", cmd, err)
		}
		defer f.Close()
		b, err := policy.ReadBundle(f, nil)
		if err != nil {
			return source{}, badf("%s: %s is not a policy bundle: %s", cmd, pos[0], oneLine(err.Error()))
		}
		files, err := policy.BundleFiles(b, true)
		if err != nil {
			return source{}, exitError{1, err.Error()}
		}
		m := fstest.MapFS{}
		for name, data := range files {
			m[name] = &fstest.MapFile{Data: data}
		}
		return source{fs: m, bundle: b}, nil
	}
	return source{fs: os.DirFS(pos[0])}, isDir(cmd, pos[0])
}

// policyBuild writes a policy directory as an OPA bundle, signed with OPA's
// signer when a key is given (docs/fleet.md).
func policyBuild(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("policy build", flag.ContinueOnError)
	out := fl.String("o", "", "the bundle file to write (a .tar.gz)")
	revision := fl.String("revision", "", "the bundle's revision (default: the policy's own, a hash of its files)")
	key := fl.String("signing-key", "", "sign with this private key (PEM file) or HMAC secret")
	alg := fl.String("signing-alg", "RS256", "the signing algorithm (RS256, ES256, HS256, ...)")
	keyID := fl.String("signing-key-id", "default", "the key id the signature names (kid)")
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if err := positional("policy build", pos, "DIR"); err != nil {
		return err
	}
	if err := isDir("policy build", pos[0]); err != nil {
		return err
	}
	if *out == "" {
		return badf("policy build: -o FILE is required")
	}
	b, err := policy.BuildBundle(context.Background(), os.DirFS(pos[0]), *revision)
	if err != nil {
		return exitError{1, err.Error()}
	}
	var signing *bundle.SigningConfig
	if *key != "" {
		signing = bundle.NewSigningConfig(*key, *alg, "")
		if _, err := signing.GetPrivateKey(); err != nil {
			return badf("policy build: --signing-key: %s", oneLine(err.Error()))
		}
	}
	var buf bytes.Buffer
	if err := policy.WriteBundle(&buf, b, signing, *keyID); err != nil {
		return exitError{1, err.Error()}
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return exitError{1, err.Error()}
	}
	signed := "unsigned"
	if signing != nil {
		signed = "signed (" + *alg + ", key id " + *keyID + ")"
	}
	fmt.Fprintf(stdout, "built %s: revision %s, %d modules, %s\n", *out, b.Manifest.Revision, len(b.Modules), signed)
	return nil
}

func policyCheck(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("policy check", flag.ContinueOnError)
	src, err := policyDir("policy check", fl, args)
	if err != nil {
		return err
	}
	p, err := src.load(context.Background())
	if err != nil {
		return exitError{1, err.Error()}
	}
	fmt.Fprintf(stdout, "ok: %d schemas (%s), revision %s\n", len(p.Names()), strings.Join(p.Names(), ", "), p.Revision())
	if doc := p.OpenAPI(); doc != nil {
		n := 0
		for _, item := range doc.Paths.Map() {
			n += len(item.Operations())
		}
		fmt.Fprintf(stdout, "openapi: %d operations of the app's HTTP API (%s %s)\n", n, doc.Info.Title, doc.Info.Version)
	}
	if fs, err := policy.Format(src.fs); err == nil {
		for _, f := range fs {
			if f.Changed() {
				fmt.Fprintf(stdout, "note: %s is not formatted as opa fmt would (isogate policy fmt -w)\n", f.Name)
			}
		}
	}
	if n, why := p.FastPath(); why != "" {
		fmt.Fprintf(stdout, "note: every message evaluates the whole policy (the generic path): %s\n", why)
	} else {
		fmt.Fprintf(stdout, "fast path: %d (kind, name) pairs specialized, listen counted once\n", n)
	}
	return nil
}

func policyTest(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("policy test", flag.ContinueOnError)
	verbose := fl.Bool("v", false, "print every test, not only failures")
	coverage := fl.Bool("coverage", false, "report which lines of the policy (its tests not counted) the tests evaluate")
	threshold := fl.Float64("threshold", 0, "with --coverage: fail below this percentage")
	timeout := fl.Duration("timeout", 5*time.Second, "time limit of one test")
	src, err := policyDir("policy test", fl, args)
	if err != nil {
		return err
	}
	if *threshold < 0 || *threshold > 100 {
		return badf("policy test: --threshold %v is not a percentage", *threshold)
	}
	if *threshold > 0 && !*coverage {
		return badf("policy test: --threshold needs --coverage")
	}
	results, cov, err := policy.RunTestsWithCoverage(context.Background(), src.fs, *timeout)
	if err != nil {
		return exitError{1, err.Error()}
	}
	if !*coverage {
		cov = nil
	}
	if len(results) == 0 {
		return exitError{1, "policy test: no tests found"}
	}
	var pass, fail, errs int
	for _, r := range results {
		switch {
		case r.Pass():
			pass++
		case r.Error != nil:
			errs++
		case r.Fail:
			fail++
		}
		if *verbose || !r.Pass() {
			line := fmt.Sprintf("%s: %s", r.Location.File, strings.TrimSpace(strings.SplitN(r.String(), "\n", 2)[0]))
			if r.Error != nil {
				line += ": " + oneLine(r.Error.Error())
			}
			fmt.Fprintln(stdout, line)
		}
	}
	fmt.Fprintln(stdout, strings.Repeat("-", 80))
	n := len(results)
	if pass > 0 || fail+errs == 0 {
		fmt.Fprintf(stdout, "PASS: %d/%d\n", pass, n)
	}
	if fail > 0 {
		fmt.Fprintf(stdout, "FAIL: %d/%d\n", fail, n)
	}
	if errs > 0 {
		fmt.Fprintf(stdout, "ERROR: %d/%d\n", errs, n)
	}
	if cov != nil {
		printCoverage(stdout, cov)
	}
	if fail+errs > 0 {
		return exitError{code: 1}
	}
	if cov != nil && cov.Percent < *threshold {
		return exitError{1, fmt.Sprintf("policy test: coverage %.1f%% is below the threshold %.1f%%", cov.Percent, *threshold)}
	}
	return nil
}

// printCoverage prints each file's coverage and the lines no test
// reaches, then the total.
func printCoverage(w io.Writer, cov *policy.Coverage) {
	names := make([]string, 0, len(cov.Files))
	for n := range cov.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := cov.Files[n]
		line := fmt.Sprintf("coverage: %s %.1f%% (%d of %d lines)", n, f.Coverage, f.CoveredLines, f.CoveredLines+f.NotCoveredLines)
		var missed []string
		for _, r := range f.NotCovered {
			s := strconv.Itoa(r.Start.Row)
			if r.Start.Row != r.End.Row {
				s = fmt.Sprintf("%d-%d", r.Start.Row, r.End.Row)
			}
			if len(missed) == 0 || missed[len(missed)-1] != s {
				missed = append(missed, s)
			}
		}
		if len(missed) > 0 {
			line += "; not covered: " + strings.Join(missed, ", ")
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "coverage: %.1f%% in all\n", cov.Percent)
}

// policyFmt formats a policy's Rego with OPA's formatter (Rego v1): the
// formatted files on stdout, or with -l the names of those that change,
// -d a diff, -w written in place. -l and -d exit 1 when anything changes.
func policyFmt(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("policy fmt", flag.ContinueOnError)
	write := fl.Bool("w", false, "write the formatted files in place")
	list := fl.Bool("l", false, "list the files formatting would change")
	diff := fl.Bool("d", false, "print what formatting would change, as a diff")
	pos, err := parse(fl, args)
	if err != nil {
		return err
	}
	if err := positional("policy fmt", pos, "DIR"); err != nil {
		return err
	}
	if err := isDir("policy fmt", pos[0]); err != nil {
		return err
	}
	files, err := policy.Format(os.DirFS(pos[0]))
	if err != nil {
		return exitError{1, err.Error()}
	}
	changed := 0
	for _, f := range files {
		if f.Changed() {
			changed++
		}
		switch {
		case *write:
			if f.Changed() {
				if err := os.WriteFile(filepath.Join(pos[0], f.Name), f.Formatted, 0o644); err != nil {
					return exitError{1, err.Error()}
				}
				fmt.Fprintln(stdout, f.Name)
			}
		case *list:
			if f.Changed() {
				fmt.Fprintln(stdout, f.Name)
			}
		case *diff:
			if f.Changed() {
				fmt.Fprint(stdout, lineDiff(f.Name, string(f.Source), string(f.Formatted)))
			}
		default:
			stdout.Write(f.Formatted)
		}
	}
	if (*list || *diff) && changed > 0 {
		return exitError{code: 1}
	}
	return nil
}

// lineDiff is a diff of two small texts, line by line (a longest common
// subsequence): "-" for a line only in a, "+" for one only in b.
func lineDiff(name, a, b string) string {
	x, y := strings.SplitAfter(a, "\n"), strings.SplitAfter(b, "\n")
	n, m := len(x), len(y)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s (formatted)\n", name, name)
	line := func(prefix, s string) {
		if s == "" {
			return
		}
		out.WriteString(prefix + strings.TrimSuffix(s, "\n") + "\n")
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			line("-", x[i])
			i++
		default:
			line("+", y[j])
			j++
		}
	}
	return out.String()
}

// explainFlag is --explain (full) or --explain=full|notes|fails.
type explainFlag struct{ mode string }

func (e *explainFlag) String() string   { return e.mode }
func (e *explainFlag) IsBoolFlag() bool { return true }
func (e *explainFlag) Set(s string) error {
	switch s {
	case "true", "full":
		e.mode = "full"
	case "notes", "fails":
		e.mode = s
	case "false":
		e.mode = ""
	default:
		return fmt.Errorf("want full, notes or fails")
	}
	return nil
}

func policyEval(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("policy eval", flag.ContinueOnError)
	inputPath := fl.String("input", "", "JSON file holding the input document")
	var explain explainFlag
	fl.Var(&explain, "explain", "add OPA's explanation: full, notes or fails")
	src, err := policyDir("policy eval", fl, args)
	if err != nil {
		return err
	}
	if *inputPath == "" {
		return badf("policy eval: --input FILE is required")
	}
	in, err := readInput(*inputPath)
	if err != nil {
		return err
	}
	p, err := src.load(context.Background())
	if err != nil {
		return exitError{1, err.Error()}
	}
	out := struct {
		policy.Verdict
		Revision    string   `json:"revision"`
		Explanation []string `json:"explanation,omitempty"`
	}{Revision: p.Revision()}
	if explain.mode != "" {
		out.Verdict, out.Explanation = p.Explain(context.Background(), *in, explain.mode)
	} else {
		out.Verdict = p.Check(context.Background(), *in)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// readInput reads an input document strictly, with numbers kept exact.
func readInput(path string) (*policy.Input, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, badf("policy eval: --input: %v", err)
	}
	in := &policy.Input{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(in); err != nil {
		return nil, badf("policy eval: %s: not a valid input document: %v", path, err)
	}
	switch in.Kind {
	case policy.KindCommand, policy.KindEvent, policy.KindListen, policy.KindHTTP:
	default:
		return nil, badf("policy eval: %s: kind must be command, event, listen or http", path)
	}
	if in.Name == "" {
		return nil, badf("policy eval: %s: name is missing", path)
	}
	if in.Window == "" {
		in.Window = "main"
	}
	return in, nil
}
