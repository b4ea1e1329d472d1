package audit

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func decisionLine(id string) string {
	return `{"decision_id":"` + id + `","kind":"command","name":"demo.greet","result":{"allow":true}}` + "\n"
}

// next is the id of the next decision sent to a subscriber.
func next(t *testing.T, ch chan []byte) string {
	t.Helper()
	select {
	case line := <-ch:
		var d struct {
			ID string `json:"decision_id"`
		}
		json.Unmarshal(line, &d)
		return d.ID
	case <-time.After(30 * time.Second): // a hang guard, not a timing
		t.Fatal("no decision came")
		return ""
	}
}

// isogate audit FILE follows the file as tail -F does: lines appended
// after the start, a line written in two pieces (taken whole, once its
// newline is there), a line that is not a decision (skipped, the rest
// read), and a file truncated or replaced by rotation (read from its start).
func TestTail_FollowsAGrowingRotatedLog(t *testing.T) {
	s := New(slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	path := filepath.Join(t.TempDir(), "decisions.jsonl")
	os.WriteFile(path, []byte(decisionLine("a")+decisionLine("b")), 0o644)
	tail := openTail(t, path)
	if err := tail.ReadTo(s); err != nil {
		t.Fatal(err)
	}
	backlog, ch, cancel := s.subscribe()
	defer cancel()
	if len(backlog) != 2 {
		t.Fatalf("%d decisions read at the start, want 2", len(backlog))
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tail.Follow(ctx, s, time.Millisecond) }()
	appendTo := func(text string) {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(text)
		f.Close()
	}
	appendTo(decisionLine("c"))
	if got := next(t, ch); got != "c" {
		t.Fatalf("appended decision %q, want c", got)
	}
	d := decisionLine("d")
	appendTo(d[:20]) // a line being written
	appendTo(d[20:] + "not json\n" + decisionLine("e"))
	if got := next(t, ch); got != "d" {
		t.Fatalf("a line written in two pieces came as %q, want d", got)
	}
	if got := next(t, ch); got != "e" {
		t.Fatalf("after a line that is not a decision came %q, want e", got)
	}
	os.Rename(path, path+".1") // rotated: a new, shorter file at the path
	os.WriteFile(path, []byte(decisionLine("f")), 0o644)
	if got := next(t, ch); got != "f" {
		t.Fatalf("after rotation came %q, want f", got)
	}
	// Truncated and rewritten in place, shorter than what was read (copytruncate).
	os.WriteFile(path, []byte(`{"decision_id":"g","result":{}}`+"\n"), 0o644)
	if got := next(t, ch); got != "g" {
		t.Fatalf("after truncation came %q, want g", got)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A file whose first line is not a decision is not a decision log.
func TestTail_RefusesAFileThatIsNotADecisionLog(t *testing.T) {
	s := New(slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	path := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(path, []byte("hello\n"+decisionLine("a")), 0o644)
	tail := openTail(t, path)
	if err := tail.ReadTo(s); err == nil || !strings.Contains(err.Error(), "not a decision log") {
		t.Fatalf("err = %v, want not a decision log", err)
	}
}

// A line over maxLineBytes (a file with no newline, /dev/zero) is skipped
// without holding it, and the next line is read; as the first line, it
// means the file is not a decision log.
func TestTail_SkipsALineTooLongToHold(t *testing.T) {
	s := New(slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	dir := t.TempDir()
	long := strings.Repeat("x", maxLineBytes+1)
	path := filepath.Join(dir, "decisions.jsonl")
	os.WriteFile(path, []byte(decisionLine("a")+long+"\n"+decisionLine("b")), 0o644)
	tail := openTail(t, path)
	if err := tail.ReadTo(s); err != nil {
		t.Fatal(err)
	}
	backlog, _, cancel := s.subscribe()
	cancel()
	if len(backlog) != 2 || tail.skipped != 1 {
		t.Fatalf("%d decisions, %d skipped; want a and b, the long line skipped", len(backlog), tail.skipped)
	}
	first := filepath.Join(dir, "first.jsonl")
	os.WriteFile(first, []byte(long), 0o644)
	ft := openTail(t, first)
	if err := ft.ReadTo(s); err == nil || !strings.Contains(err.Error(), "not a decision log") {
		t.Fatalf("err = %v, want not a decision log", err)
	}
}

// openTail opens path as a Tail closed when the test ends.
func openTail(t *testing.T, path string) *Tail {
	t.Helper()
	tail, err := OpenTail(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tail.Close() })
	return tail
}
