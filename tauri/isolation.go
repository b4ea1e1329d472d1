package tauri

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/isogate/isogate/isolation"
)

// IsolationHook is a Tauri isolation app (its dir's index.html and the
// classic scripts it names, in document order, inline ones too) as the
// isolation iframe's hook: the app defines window.__TAURI_ISOLATION_HOOK__,
// and isogate's adapter calls it on every message (docs/tauri.md). An ES
// module script is refused, as Tauri does not run them either; so is a
// script outside dir, and an app no script of which names the hook.
func IsolationHook(dir string) ([]byte, error) {
	page, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		return nil, fmt.Errorf("the isolation app: %v", err)
	}
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return nil, fmt.Errorf("the isolation app's index.html: %v", err)
	}
	var out bytes.Buffer
	var walk func(n *html.Node) error
	walk = func(n *html.Node) error {
		if n.Type == html.ElementNode && n.DataAtom == atom.Script {
			src, typ := "", ""
			for _, a := range n.Attr {
				switch a.Key {
				case "src":
					src = a.Val
				case "type":
					typ = strings.ToLower(strings.TrimSpace(a.Val))
				}
			}
			if typ == "module" {
				return fmt.Errorf("the isolation app's index.html: a module script (%q); Tauri's isolation runs classic scripts only", src)
			}
			if typ != "" && typ != "text/javascript" && typ != "application/javascript" {
				return nil // data, templates: not run
			}
			var code []byte
			if src != "" {
				rel := path.Clean("/" + strings.SplitN(src, "?", 2)[0])
				if strings.Contains(src, "://") || strings.HasPrefix(src, "//") {
					return fmt.Errorf("the isolation app's script %q is not in its directory", src)
				}
				if code, err = os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
					return fmt.Errorf("the isolation app's script: %v", err)
				}
			} else if n.FirstChild != nil {
				code = []byte(n.FirstChild.Data)
			}
			fmt.Fprintf(&out, "// %s\n%s\n;\n", strings.ReplaceAll(src, "\n", ""), code)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(doc); err != nil {
		return nil, err
	}
	if !bytes.Contains(out.Bytes(), []byte("__TAURI_ISOLATION_HOOK__")) {
		return nil, fmt.Errorf("no script of the isolation app in %s defines __TAURI_ISOLATION_HOOK__", dir)
	}
	return append(out.Bytes(), isolation.TauriHookAdapter()...), nil
}
