package tauri

import (
	"context"
	"errors"
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

// Windows is what the window built-ins act on (desktop.Controls is one).
type Windows interface {
	Title(label string) (string, error)
	SetTitle(label, title string) error
	Size(label string) (width, height int, err error)
	SetSize(label string, width, height int) error
	Close(label string) error
}

// RegisterWindows adds the window calls isogate's desktop window can
// honour: plugin:window|{title, set_title, inner_size, set_size,
// scale_factor, close}, on the window args.label names. A page may name
// another window's label: a policy that means one window's page to act on
// its own window only says so (input.args.label == input.window;
// docs/tauri.md).
func RegisterWindows(c *core.Core, w Windows) {
	on := func(f func(label string, a map[string]any) (any, error)) core.Handler {
		return func(_ context.Context, a any) (any, error) {
			args, _ := a.(map[string]any)
			label, _ := args["label"].(string)
			v, err := f(label, args)
			var pub *core.Error
			if err != nil && !errors.As(err, &pub) {
				return nil, Reject(err.Error())
			}
			return v, err
		}
	}
	c.Handle("plugin:window|title", on(func(label string, _ map[string]any) (any, error) { return w.Title(label) }))
	c.Handle("plugin:window|set_title", on(func(label string, a map[string]any) (any, error) {
		title, ok := a["value"].(string)
		if !ok {
			return nil, Reject("the title is a string")
		}
		return nil, w.SetTitle(label, title)
	}))
	c.Handle("plugin:window|inner_size", on(func(label string, _ map[string]any) (any, error) {
		width, height, err := w.Size(label)
		if err != nil {
			return nil, err
		}
		return map[string]any{"width": width, "height": height}, nil
	}))
	c.Handle("plugin:window|set_size", on(func(label string, a map[string]any) (any, error) {
		// {"Logical": {width, height}} or {"Physical": ...}: one and the
		// same at the scale factor isogate's window has (1).
		value, _ := a["value"].(map[string]any)
		var size map[string]any
		for _, k := range []string{"Logical", "Physical"} {
			if s, ok := value[k].(map[string]any); ok && len(value) == 1 {
				size = s
			}
		}
		width, werr := number(size["width"])
		height, herr := number(size["height"])
		if size == nil || werr != nil || herr != nil {
			return nil, Reject("the size is {Logical|Physical: {width, height}}")
		}
		return nil, w.SetSize(label, width, height)
	}))
	c.Handle("plugin:window|scale_factor", on(func(label string, _ map[string]any) (any, error) {
		if _, err := w.Title(label); err != nil { // the window must exist
			return nil, err
		}
		return 1, nil
	}))
	c.Handle("plugin:window|close", on(func(label string, _ map[string]any) (any, error) { return nil, w.Close(label) }))
}

// NoWindows answers the window calls when isogate serves a browser: there
// is no window to act on.
var NoWindows Windows = noWindows{}

type noWindows struct{}

var errNoWindow = Reject("there is no window: isogate serves a browser")

func (noWindows) Title(string) (string, error)   { return "", errNoWindow }
func (noWindows) SetTitle(string, string) error  { return errNoWindow }
func (noWindows) Size(string) (int, int, error)  { return 0, 0, errNoWindow }
func (noWindows) SetSize(string, int, int) error { return errNoWindow }
func (noWindows) Close(string) error             { return errNoWindow }
