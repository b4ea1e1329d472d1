package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/owenrumney/go-sarif/v2/sarif"
	"github.com/styrainc/regal/pkg/report"

	"github.com/isogate/isogate/policy"
)

// policyLint lints a policy's Rego with Regal and isogate's own rules
// (policy.Lint). Any finding exits 1, so CI can gate on it.
//
// Regal's own reporters are not used: its package needs an older
// tablewriter than OPA v1 builds with. Text is one line per finding, JSON
// is Regal's report as Regal's JSON reporter writes it, and SARIF is
// written with the SARIF library Regal uses, the same way.
func policyLint(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("policy lint", flag.ContinueOnError)
	format := fl.String("format", "text", "text, json or sarif (SARIF 2.1.0, for code scanning)")
	src, err := policyDir("policy lint", fl, args)
	if err != nil {
		return err
	}
	write, ok := map[string]func(io.Writer, report.Report) error{"text": lintText, "json": lintJSON, "sarif": lintSARIF}[*format]
	if !ok {
		return badf("policy lint: --format %q: want text, json or sarif", *format)
	}
	rep, err := policy.Lint(context.Background(), src.fs)
	if err != nil {
		return exitError{1, err.Error()}
	}
	if err := write(stdout, rep); err != nil {
		return exitError{1, err.Error()}
	}
	if len(rep.Violations) > 0 {
		return exitError{code: 1}
	}
	return nil
}

func lintText(w io.Writer, r report.Report) error {
	for _, v := range r.Violations {
		fmt.Fprintf(w, "%s:%d:%d: %s/%s: %s", v.Location.File, v.Location.Row, v.Location.Column, v.Category, v.Title, v.Description)
		if doc := lintDoc(v); doc != "" {
			fmt.Fprintf(w, " (%s)", doc)
		}
		fmt.Fprintln(w)
	}
	_, err := fmt.Fprintf(w, "%d files linted, %d findings\n", r.Summary.FilesScanned, len(r.Violations))
	return err
}

func lintJSON(w io.Writer, r report.Report) error {
	if r.Violations == nil {
		r.Violations = []report.Violation{}
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

func lintSARIF(w io.Writer, r report.Report) error {
	rep, err := sarif.New(sarif.Version210)
	if err != nil {
		return err
	}
	run := sarif.NewRunWithInformationURI("isogate policy lint", "https://docs.styra.com/regal")
	for _, v := range r.Violations {
		pb := sarif.NewPropertyBag()
		pb.Add("category", v.Category)
		rule := run.AddRule(v.Title).WithDescription(v.Description).WithProperties(pb.Properties)
		if doc := lintDoc(v); doc != "" {
			rule.WithHelpURI(doc)
		}
		run.AddDistinctArtifact(v.Location.File)
		loc := sarif.NewPhysicalLocation().WithArtifactLocation(sarif.NewSimpleArtifactLocation(v.Location.File))
		if v.Location.Row > 0 && v.Location.Column > 0 {
			loc = loc.WithRegion(sarif.NewRegion().WithStartLine(v.Location.Row).WithStartColumn(v.Location.Column))
		}
		run.CreateResultForRule(v.Title).WithLevel(v.Level).WithMessage(sarif.NewTextMessage(v.Description)).
			AddLocation(sarif.NewLocationWithPhysicalLocation(loc))
	}
	rep.AddRun(run)
	return rep.PrettyWrite(w)
}

// lintDoc is a finding's documentation link, if it has one.
func lintDoc(v report.Violation) string {
	for _, r := range v.RelatedResources {
		if r.Description == "documentation" {
			return r.Reference
		}
	}
	return ""
}
