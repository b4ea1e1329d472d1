package policy

import (
	"context"
	"io/fs"
	"sort"
	"time"

	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestResult is one policy test's outcome.
type TestResult = tester.Result

// RunTests runs the *_test.rego tests of a policy directory with OPA's
// tester, loading the directory as `opa test --ignore schemas DIR` does, with
// isogate's capabilities and strict builtin errors. Results are sorted by
// file and line.
func RunTests(ctx context.Context, fsys fs.FS, timeout time.Duration) ([]*TestResult, error) {
	results, _, err := runTests(ctx, fsys, timeout, false)
	return results, err
}

// Coverage is how much of a policy's Rego (its tests not counted) its
// tests evaluate, by OPA's cover package.
type Coverage struct {
	Files   map[string]*cover.FileReport // by file name, tests left out
	Percent float64                      // of the lines OPA counts, over all those files
}

// RunTestsWithCoverage is RunTests measuring coverage.
func RunTestsWithCoverage(ctx context.Context, fsys fs.FS, timeout time.Duration) ([]*TestResult, *Coverage, error) {
	return runTests(ctx, fsys, timeout, true)
}

func runTests(ctx context.Context, fsys fs.FS, timeout time.Duration, withCoverage bool) ([]*TestResult, *Coverage, error) {
	files, err := readFiles(fsys, true)
	if err != nil {
		return nil, nil, err
	}
	modules, err := parseModules(files)
	if err != nil {
		return nil, nil, err
	}
	store, err := dataStore(files)
	if err != nil {
		return nil, nil, err
	}
	if _, _, err := compileSchemas(files); err != nil {
		return nil, nil, err
	}
	runner := tester.NewRunner().
		SetCompiler(newCompiler()).
		SetStore(store).
		SetModules(modules).
		RaiseBuiltinErrors(true).
		SetTimeout(timeout)
	var cov *cover.Cover
	if withCoverage {
		cov = cover.New()
		runner = runner.SetCoverageQueryTracer(cov)
	}
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		return nil, nil, astError(err)
	}
	var results []*TestResult
	for r := range ch {
		results = append(results, r)
	}
	sort.Slice(results, func(i, j int) bool {
		a, b := results[i].Location, results[j].Location
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Row < b.Row
	})
	if cov == nil {
		return results, nil, nil
	}
	report := cov.Report(modules)
	c := &Coverage{Files: map[string]*cover.FileReport{}}
	covered, total := 0, 0
	for name, fr := range report.Files {
		if isTestFile(name) {
			continue
		}
		c.Files[name] = fr
		covered += fr.CoveredLines
		total += fr.CoveredLines + fr.NotCoveredLines
	}
	if total > 0 {
		c.Percent = 100 * float64(covered) / float64(total)
	}
	return results, c, nil
}
