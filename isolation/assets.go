package isolation

import _ "embed"

// The bundles built from sandbox-js/ (npm run build); committed, and checked
// by `make test` to match their sources.
var (
	//go:embed assets/isolation.js
	isolationJS []byte
	//go:embed assets/bridge.js
	bridgeJS []byte
	//go:embed assets/tauri-global.js
	tauriGlobalJS []byte
	//go:embed assets/tauri-hook.js
	tauriHookJS []byte
)

// TauriHookAdapter is the script that makes a Tauri isolation app's
// window.__TAURI_ISOLATION_HOOK__ the iframe's hook; it runs after the
// app's scripts.
func TauriHookAdapter() []byte { return append([]byte(nil), tauriHookJS...) }
