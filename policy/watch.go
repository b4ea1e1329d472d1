package policy

import (
	"context"
	"io/fs"
	"time"
)

// Watcher reloads a policy directory when its files change. A new version is
// loaded whole from one read of the directory, compiled and prepared, and
// only then handed to OnLoad, which swaps it in atomically; a version that
// does not load goes to OnError and the last good policy keeps serving.
type Watcher struct {
	FS      fs.FS
	OnLoad  func(*Policy)
	OnError func(error)

	current string // revision serving now
	failed  string // revision that failed last; not retried until it changes
}

// NewWatcher watches fsys, which current was loaded from.
func NewWatcher(fsys fs.FS, current *Policy, onLoad func(*Policy), onError func(error)) *Watcher {
	return &Watcher{FS: fsys, OnLoad: onLoad, OnError: onError, current: current.revision}
}

// Poll checks the directory once and reloads it if it changed. A directory
// caught mid-change is loaded only if a second read right after the load
// finds the same files; otherwise the next poll tries again.
func (w *Watcher) Poll(ctx context.Context) {
	files, err := readFiles(w.FS, false)
	if err != nil {
		w.fail("", err)
		return
	}
	rev := revision(files)
	if rev == w.current || rev == w.failed {
		return
	}
	p, err := load(ctx, files)
	if err != nil {
		w.fail(rev, err)
		return
	}
	if again, err := readFiles(w.FS, false); err != nil || revision(again) != rev {
		return
	}
	w.current, w.failed = rev, ""
	w.OnLoad(p)
}

func (w *Watcher) fail(rev string, err error) {
	if rev != "" && rev == w.failed {
		return
	}
	w.failed = rev
	w.OnError(err)
}

// Run polls every interval until ctx is done.
func (w *Watcher) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Poll(ctx)
		}
	}
}
