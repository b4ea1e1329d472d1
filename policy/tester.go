package policy

import (
	"context"
	"io/fs"
	"sort"
	"time"

	"github.com/open-policy-agent/opa/v1/tester"
)

// TestResult is one policy test's outcome.
type TestResult = tester.Result

// RunTests runs the *_test.rego tests of a policy directory with OPA's
// tester, loading the directory as `opa test --ignore schemas DIR` does, with
// isogate's capabilities and strict builtin errors. Results are sorted by
// file and line.
func RunTests(ctx context.Context, fsys fs.FS, timeout time.Duration) ([]*TestResult, error) {
	files, err := readFiles(fsys, true)
	if err != nil {
		return nil, err
	}
	modules, err := parseModules(files)
	if err != nil {
		return nil, err
	}
	store, err := dataStore(files)
	if err != nil {
		return nil, err
	}
	if _, _, err := compileSchemas(files); err != nil {
		return nil, err
	}
	runner := tester.NewRunner().
		SetCompiler(newCompiler()).
		SetStore(store).
		SetModules(modules).
		RaiseBuiltinErrors(true).
		SetTimeout(timeout)
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		return nil, astError(err)
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
	return results, nil
}
