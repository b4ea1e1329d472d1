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
	Label         string
	URL           string
	Title         string
	Width, Height int
	Debug         bool
}

// Run fails: this build has no window.
func Run(context.Context, ...Window) error { return ErrNotBuilt }

// RunWith fails: this build has no window.
func RunWith(context.Context, *Controls, ...Window) error { return ErrNotBuilt }

// Controls has no windows to act on in this build.
type Controls struct{}

// NewControls returns controls that act on nothing.
func NewControls() *Controls { return &Controls{} }

func (*Controls) Title(string) (string, error)   { return "", ErrNotBuilt }
func (*Controls) SetTitle(string, string) error  { return ErrNotBuilt }
func (*Controls) Size(string) (int, int, error)  { return 0, 0, ErrNotBuilt }
func (*Controls) SetSize(string, int, int) error { return ErrNotBuilt }
func (*Controls) Close(string) error             { return ErrNotBuilt }
