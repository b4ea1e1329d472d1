package tauri

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A Tauri isolation app becomes the hook: its scripts in document order,
// inline ones too, then the adapter; what Tauri would not run is refused.
func TestIsolationHook(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"index.html": `<!doctype html><script src="a.js"></script><script>var second = 2;</script><script type="application/json">{"not":"run"}</script><script src="./js/b.js?v=1"></script>`,
		"a.js":       "var first = 1;",
		"js/b.js":    "window.__TAURI_ISOLATION_HOOK__ = (p) => p;",
	})
	hook, err := IsolationHook(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := string(hook)
	a, b, c := strings.Index(s, "var first"), strings.Index(s, "var second"), strings.Index(s, "__TAURI_ISOLATION_HOOK__ =")
	if a < 0 || b < a || c < b || strings.Contains(s, `"not":"run"`) || !strings.Contains(s, "isogateHook") {
		t.Fatalf("hook:\n%s", s)
	}
	for name, files := range map[string]map[string]string{
		"module":        {"index.html": `<script type="module" src="a.js"></script>`, "a.js": "window.__TAURI_ISOLATION_HOOK__ = 1"},
		"no hook":       {"index.html": `<script src="a.js"></script>`, "a.js": "var x"},
		"remote script": {"index.html": `<script src="https://cdn.example/h.js"></script><script>window.__TAURI_ISOLATION_HOOK__=1</script>`},
		"missing file":  {"index.html": `<script src="gone.js"></script>`},
		"no index":      {"other.html": ""},
	} {
		d := t.TempDir()
		write(t, d, files)
		if _, err := IsolationHook(d); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestReadConfig(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"src-tauri/tauri.conf.json": `{
		"productName": "p", "version": "0.1.0", "identifier": "com.x.p",
		"build": {"frontendDist": "../dist"},
		"app": {"withGlobalTauri": true, "windows": [{"label": "editor", "title": "T", "width": 300, "height": 200}],
			"security": {"csp": {"default-src": "'self'", "img-src": ["'self'", "data:"]},
				"pattern": {"use": "isolation", "options": {"dir": "../iso"}}}}}`})
	c, err := ReadConfig(filepath.Join(dir, "src-tauri", "tauri.conf.json"))
	if err != nil {
		t.Fatal(err)
	}
	if c.FrontendDist != filepath.Join(dir, "dist") || !c.Global || c.IsolationDir != filepath.Join(dir, "iso") ||
		c.CSP != "default-src 'self'; img-src 'self' data:" || c.Window.Label != "editor" || c.Window.Width != 300 || c.ProductName != "p" {
		t.Fatalf("config %+v", c)
	}
	write(t, dir, map[string]string{"bad.json": `{"build": {}}`, "pattern.json": `{"build": {"frontendDist": "d"}, "app": {"security": {"pattern": {"use": "other"}}}}`})
	for _, f := range []string{"bad.json", "pattern.json", "missing.json"} {
		if _, err := ReadConfig(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s accepted", f)
		}
	}
}

func TestPermissionOfBuiltinsAndDirs(t *testing.T) {
	if d, err := BaseDirectory(21, "x"); err != nil || d == "" { // Home
		t.Fatalf("home: %q %v", d, err)
	}
	if _, err := BaseDirectory(11, "x"); err == nil { // Resource: isogate has no bundle
		t.Fatal("a Resource directory")
	}
}
