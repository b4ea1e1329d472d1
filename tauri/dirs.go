package tauri

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// BaseDirectory is the directory of Tauri's BaseDirectory enum value n
// (@tauri-apps/api 2.12.5 path.js: 1 Audio, 2 Cache, ... 23 Template) on a
// freedesktop system, with identifier naming the app's own directories.
func BaseDirectory(n int, identifier string) (string, error) {
	home, _ := os.UserHomeDir()
	xdg := func(env, def string) string {
		if v := os.Getenv(env); filepath.IsAbs(v) {
			return v
		}
		return filepath.Join(home, def)
	}
	userDir := func(def string) string { return filepath.Join(home, def) } // XDG user dirs, by their default names
	config, data, cache := xdg("XDG_CONFIG_HOME", ".config"), xdg("XDG_DATA_HOME", ".local/share"), xdg("XDG_CACHE_HOME", ".cache")
	state := xdg("XDG_STATE_HOME", ".local/state")
	dirs := map[int]string{
		1: userDir("Music"), 2: cache, 3: config, 4: data, 5: data, 6: userDir("Documents"),
		7: userDir("Downloads"), 8: userDir("Pictures"), 9: userDir("Public"),
		10: userDir("Videos"), 11: "", // Resource: the app bundle's, which isogate does not have
		12: os.TempDir(), 13: filepath.Join(config, identifier), 14: filepath.Join(data, identifier), 15: filepath.Join(data, identifier),
		16: filepath.Join(cache, identifier), 17: filepath.Join(state, identifier, "logs"), 18: userDir("Desktop"),
		19: filepath.Join(home, ".local/bin"), 20: filepath.Join(data, "fonts"), 21: home, 22: os.Getenv("XDG_RUNTIME_DIR"),
		23: userDir("Templates"),
	}
	d, ok := dirs[n]
	if !ok || d == "" {
		return "", Reject(fmt.Sprintf("unknown path: the base directory %d is not available", n))
	}
	return d, nil
}

func number(v any) (int, error) {
	switch x := v.(type) {
	case json.Number:
		n, err := strconv.Atoi(string(x))
		if err == nil {
			return n, nil
		}
	case float64:
		return int(x), nil
	case int:
		return x, nil
	}
	return 0, Reject("directory must be a number")
}

func strs(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, Reject("paths must be a list of strings")
	}
	out := make([]string, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, Reject("paths must be a list of strings")
		}
		out[i] = s
	}
	return out, nil
}
