package crypto

import "testing"

func TestWindow_ZeroSequenceRejected(t *testing.T) {
	var w Window
	if w.Fresh(0) {
		t.Fatal("sequence 0 accepted")
	}
}

// A frame WindowSize-1 behind the top is still accepted once; WindowSize and
// WindowSize+1 behind are rejected as too old.
func TestWindow_TooOldSequenceRejectedAtBoundary(t *testing.T) {
	const top = 5000
	for _, c := range []struct {
		behind uint64
		fresh  bool
	}{{WindowSize - 1, true}, {WindowSize, false}, {WindowSize + 1, false}} {
		var w Window
		w.Accept(top)
		if got := w.Fresh(top - c.behind); got != c.fresh {
			t.Errorf("%d behind the top: Fresh = %v, want %v", c.behind, got, c.fresh)
		}
	}
}

func TestWindow_ReorderedAcceptedOnceEach(t *testing.T) {
	var w Window
	order := []uint64{3, 1, 2, 10, 7, 1030, 9}
	for _, s := range order {
		if !w.Fresh(s) {
			t.Fatalf("first sight of %d rejected", s)
		}
		w.Accept(s)
	}
	for _, s := range order {
		if w.Fresh(s) {
			t.Fatalf("replay of %d accepted", s)
		}
	}
	// After a jump, slots reused by the ring must be fresh again.
	if !w.Fresh(1029) || !w.Fresh(1025) {
		t.Fatal("unseen numbers inside the window after a jump were rejected")
	}
	if w.Fresh(6) {
		t.Fatal("6 is WindowSize behind 1030 and must be too old")
	}
}

func TestWindow_LargeJumpClearsHistory(t *testing.T) {
	var w Window
	w.Accept(1)
	w.Accept(1 + 3*WindowSize)
	if !w.Fresh(2+2*WindowSize+1) || w.Fresh(1+3*WindowSize) {
		t.Fatal("window state wrong after a jump larger than its width")
	}
}
