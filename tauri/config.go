package tauri

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/isogate/isogate/core"
)

// Config is what isogate takes from a Tauri app's tauri.conf.json (v2).
type Config struct {
	// FrontendDist is build.frontendDist: the built frontend's directory
	// (made absolute, from the config file's directory) or a dev server URL.
	FrontendDist string
	// Global is app.withGlobalTauri: the page gets window.__TAURI__.
	Global bool
	// IsolationDir is app.security.pattern's isolation dir, "" without the
	// isolation pattern.
	IsolationDir string
	// CSP is app.security.csp, as one policy string ("" for none).
	CSP string
	// ProductName, Version and Identifier answer plugin:app|name, version
	// and identifier.
	ProductName, Version, Identifier string
	// Window is the first of app.windows (label "main", 800x600 when
	// unset, as Tauri's defaults).
	Window struct {
		Label, Title  string
		Width, Height int
	}
}

// ReadConfig reads a tauri.conf.json.
func ReadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw struct {
		ProductName string `json:"productName"`
		Version     string `json:"version"`
		Identifier  string `json:"identifier"`
		Build       struct {
			FrontendDist string `json:"frontendDist"`
		} `json:"build"`
		App struct {
			WithGlobalTauri bool `json:"withGlobalTauri"`
			Windows         []struct {
				Label  string  `json:"label"`
				Title  string  `json:"title"`
				Width  float64 `json:"width"`
				Height float64 `json:"height"`
			} `json:"windows"`
			Security struct {
				CSP     json.RawMessage `json:"csp"`
				Pattern struct {
					Use     string `json:"use"`
					Options struct {
						Dir string `json:"dir"`
					} `json:"options"`
				} `json:"pattern"`
			} `json:"security"`
		} `json:"app"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	base := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	c := &Config{Global: raw.App.WithGlobalTauri, ProductName: raw.ProductName, Version: raw.Version, Identifier: raw.Identifier}
	switch d := raw.Build.FrontendDist; {
	case d == "":
		return nil, fmt.Errorf("%s: build.frontendDist is not set", path)
	case strings.HasPrefix(d, "http://") || strings.HasPrefix(d, "https://"):
		c.FrontendDist = d
	default:
		c.FrontendDist = rel(d)
	}
	switch raw.App.Security.Pattern.Use {
	case "", "brownfield":
	case "isolation":
		if raw.App.Security.Pattern.Options.Dir == "" {
			return nil, fmt.Errorf("%s: the isolation pattern names no options.dir", path)
		}
		c.IsolationDir = rel(raw.App.Security.Pattern.Options.Dir)
	default:
		return nil, fmt.Errorf("%s: app.security.pattern.use %q is not brownfield or isolation", path, raw.App.Security.Pattern.Use)
	}
	if c.CSP, err = cspString(raw.App.Security.CSP); err != nil {
		return nil, fmt.Errorf("%s: app.security.csp: %v", path, err)
	}
	c.Window.Label, c.Window.Width, c.Window.Height = "main", 800, 600
	if len(raw.App.Windows) > 0 {
		w := raw.App.Windows[0]
		if w.Label != "" {
			if err := core.CheckLabel(w.Label); err != nil {
				return nil, fmt.Errorf("%s: app.windows[0].label: %v", path, err)
			}
			c.Window.Label = w.Label
		}
		c.Window.Title = w.Title
		if w.Width > 0 && w.Height > 0 {
			c.Window.Width, c.Window.Height = int(w.Width), int(w.Height)
		}
	}
	if c.Window.Title == "" {
		c.Window.Title = c.ProductName
	}
	return c, nil
}

// cspString is a CSP as Tauri takes it: a string, or an object of
// directives whose values are strings or lists of sources.
func cspString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", errors.New("neither a string nor an object of directives")
	}
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		var v string
		var list []string
		switch {
		case json.Unmarshal(obj[k], &v) == nil:
		case json.Unmarshal(obj[k], &list) == nil:
			v = strings.Join(list, " ")
		default:
			return "", fmt.Errorf("directive %q is neither a string nor a list", k)
		}
		parts = append(parts, strings.TrimSpace(k+" "+v))
	}
	return strings.Join(parts, "; "), nil
}
