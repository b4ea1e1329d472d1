package policy

import (
	"context"
	"os"
	"testing"
	"time"
)

// The worked policies the project ships (the demo's, and the HTTP API's and
// Tauri app's the end-to-end tests run) pass their own _test.rego: a
// policy whose tests fail is not an example to copy.
func TestShippedPolicies_TheirOwnTestsPass(t *testing.T) {
	for _, dir := range []string{"../demo/policy", "../e2e/testdata/api/policy", "../e2e/testdata/tauri/policy"} {
		t.Run(dir, func(t *testing.T) {
			results, err := RunTests(context.Background(), os.DirFS(dir), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if len(results) == 0 {
				t.Fatal("no tests ran")
			}
			for _, r := range results {
				if !r.Pass() {
					t.Errorf("%s: %s failed (%v)", r.Location, r.Name, r.Error)
				}
			}
		})
	}
}
