package tauri

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/isogate/isogate/core"
)

// Info answers plugin:app's name, version and identifier.
type Info struct {
	Name, Version, Identifier string
}

// APIVersion is the @tauri-apps/api release the compat bridge follows;
// plugin:app|tauri_version answers it.
const APIVersion = "2.12.5"

// Register adds Go handlers for Tauri's built-in commands isogate can
// answer: plugin:app|{version,name,tauri_version,identifier} and
// plugin:path|* (pure path operations and the XDG directories). They are
// handlers like any other: a call reaches one only when its schema and
// the policy allow it (docs/tauri.md gives the schemas). Every other
// plugin command is unknown_command until something implements it.
func Register(c *core.Core, info Info) {
	str := func(v string) core.Handler { return func(context.Context, any) (any, error) { return v, nil } }
	c.Handle("plugin:app|name", str(info.Name))
	c.Handle("plugin:app|version", str(info.Version))
	c.Handle("plugin:app|identifier", str(info.Identifier))
	c.Handle("plugin:app|tauri_version", str(APIVersion))
	path := func(f func(a map[string]any) (any, error)) core.Handler {
		return func(_ context.Context, a any) (any, error) {
			args, _ := a.(map[string]any)
			return f(args)
		}
	}
	c.Handle("plugin:path|resolve_directory", path(func(a map[string]any) (any, error) {
		n, err := number(a["directory"])
		if err != nil {
			return nil, err
		}
		dir, err := BaseDirectory(n, info.Identifier)
		if err != nil {
			return nil, err
		}
		if p, _ := a["path"].(string); p != "" {
			dir = filepath.Join(dir, p)
		}
		return dir, nil
	}))
	c.Handle("plugin:path|resolve", path(func(a map[string]any) (any, error) {
		ps, err := strs(a["paths"])
		if err != nil {
			return nil, err
		}
		cwd, _ := os.Getwd()
		out := cwd
		for _, p := range ps {
			if filepath.IsAbs(p) {
				out = p
			} else {
				out = filepath.Join(out, p)
			}
		}
		return filepath.Clean(out), nil
	}))
	c.Handle("plugin:path|normalize", path(func(a map[string]any) (any, error) {
		p, _ := a["path"].(string)
		if p == "" {
			return "", nil
		}
		return filepath.Clean(p), nil
	}))
	c.Handle("plugin:path|join", path(func(a map[string]any) (any, error) {
		ps, err := strs(a["paths"])
		if err != nil {
			return nil, err
		}
		return filepath.Join(ps...), nil
	}))
	c.Handle("plugin:path|dirname", path(func(a map[string]any) (any, error) {
		p, _ := a["path"].(string)
		if d := filepath.Dir(p); d != p {
			return d, nil
		}
		return nil, Reject("Couldn't get the parent directory")
	}))
	c.Handle("plugin:path|extname", path(func(a map[string]any) (any, error) {
		p, _ := a["path"].(string)
		if e := filepath.Ext(p); e != "" {
			return strings.TrimPrefix(e, "."), nil
		}
		return nil, Reject("Couldn't get the extension of the file")
	}))
	c.Handle("plugin:path|basename", path(func(a map[string]any) (any, error) {
		p, _ := a["path"].(string)
		b := filepath.Base(p)
		if ext, _ := a["ext"].(string); ext != "" {
			b = strings.TrimSuffix(b, ext)
		}
		return b, nil
	}))
	c.Handle("plugin:path|is_absolute", path(func(a map[string]any) (any, error) {
		p, _ := a["path"].(string)
		return filepath.IsAbs(p), nil
	}))
}
