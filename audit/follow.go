package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/isogate/isogate/policy"
)

// Tail reads a decision log file as it grows, for `isogate audit FILE`: what
// it holds now, then each line appended, as `tail -F` does. A line is taken
// once its newline is written (a line being written is not torn), and a
// file that is truncated or replaced (log rotation) is read again from its
// start.
type Tail struct {
	path    string
	f       *os.File
	r       *bufio.Reader
	off     int64  // bytes of f read
	partial []byte // a last line without its newline yet
	lines   int    // decisions read (a line is only ever skipped after the first decision)
	skipped int    // lines that were not decisions, after the first
	long    bool   // within a line over maxLineBytes, skipping to its end
	missing bool   // the path is gone (warned once)
}

// maxLineBytes bounds a line: a decision is far smaller (a message is at
// most 16 MiB), and a file with no newline (/dev/zero) must not fill memory.
const maxLineBytes = 32 << 20

// OpenTail opens path.
func OpenTail(path string) (*Tail, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &Tail{path: path, f: f, r: bufio.NewReader(f)}, nil
}

// Close closes the file.
func (t *Tail) Close() error { return t.f.Close() }

// ReadTo gives s every whole line there is now. A file whose first line is
// not a decision is not a decision log: that is an error. A later line that
// is not one (a crash mid-write before a restart) is skipped and counted.
func (t *Tail) ReadTo(s *Server) error {
	for {
		line, err := t.r.ReadSlice('\n')
		t.off += int64(len(line))
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) && !errors.Is(err, io.EOF) {
			return err
		}
		if !t.long {
			t.partial = append(t.partial, line...)
		}
		if len(t.partial) > maxLineBytes {
			if t.lines == 0 {
				return fmt.Errorf("not a decision log: a line over %d bytes", maxLineBytes)
			}
			t.partial, t.long = nil, true
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			continue // more of this line
		}
		if t.long {
			t.long = false
			t.skipped++
			s.log.Warn("audit: a line of the decision log is too long; skipped", "file", t.path, "limit", maxLineBytes)
			continue
		}
		line, t.partial = t.partial, nil
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var d policy.Decision
		if err := json.Unmarshal(line, &d); err != nil {
			if t.lines == 0 {
				return fmt.Errorf("not a decision log: %w", err)
			}
			t.skipped++
			s.log.Warn("audit: a line of the decision log is not a decision; skipped", "file", t.path, "skipped", t.skipped, "err", err)
			continue
		}
		t.lines++
		s.Record(context.Background(), &d)
	}
}

// Follow reads what is appended until ctx ends, looking every poll.
func (t *Tail) Follow(ctx context.Context, s *Server, poll time.Duration) error {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if err := t.reopenIfReplaced(s); err != nil {
			if !t.missing {
				s.log.Warn("audit: the decision log cannot be reopened; still watching", "file", t.path, "err", err)
			}
			t.missing = true
			continue
		}
		t.missing = false
		if err := t.ReadTo(s); err != nil {
			return err
		}
	}
}

// reopenIfReplaced starts over when the path is now another file (what the
// old one still had is read first), or the file is shorter than what was
// read (truncated).
func (t *Tail) reopenIfReplaced(s *Server) error {
	now, err := os.Stat(t.path)
	if err != nil {
		return err
	}
	have, err := t.f.Stat()
	if err != nil {
		return err
	}
	if os.SameFile(now, have) && now.Size() >= t.off {
		return nil
	}
	f, err := os.Open(t.path)
	if err != nil {
		return err
	}
	if !os.SameFile(now, have) {
		if err := t.ReadTo(s); err != nil { // the lines written before the rename
			s.log.Warn("audit: the rotated decision log's last lines could not be read", "file", t.path, "err", err)
		}
	}
	t.f.Close()
	t.f, t.r, t.off, t.partial, t.long = f, bufio.NewReader(f), 0, nil, false
	return nil
}
