package desktop

import "errors"

// ErrNoDisplay means no window can be opened: no display, or one GTK cannot
// open. Callers fall back to serving for a browser.
var ErrNoDisplay = errors.New("no display available for a window")

// ErrNotBuilt means this binary was built without the desktop window (no cgo,
// or the nodesktop tag).
var ErrNotBuilt = errors.New("this isogate was built without the desktop window")
