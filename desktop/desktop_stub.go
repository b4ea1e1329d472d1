//go:build !cgo || nodesktop

package desktop

import "context"

// Available is false: this build has no window.
func Available() bool { return false }

// WebKitVersion is empty: this build links no WebKitGTK.
func WebKitVersion() string { return "" }

// FixSignals does nothing in this build.
func FixSignals() int { return 0 }

// Unstacked is empty in this build.
func Unstacked() []int { return nil }

// Window describes the window to open.
type Window struct {
	URL           string
	Title         string
	Width, Height int
	Debug         bool
}

// Run fails: this build has no window.
func Run(context.Context, ...Window) error { return ErrNotBuilt }
