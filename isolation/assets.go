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
)
