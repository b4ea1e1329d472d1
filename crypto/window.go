package crypto

// WindowSize is how far behind the highest accepted sequence number a frame
// may arrive and still be accepted (once). Older frames are rejected as
// replays. The iframe sends in order over one ordered WebSocket, so any real
// gap comes from a reconnect; the width only bounds how much reordering is
// tolerated, and memory stays fixed at WindowSize bits.
const WindowSize = 1024

// Window is an anti-replay sliding window in the manner of RFC 4303 §3.4.3.
// Sequence number 0 is never valid.
type Window struct {
	top  uint64 // highest accepted sequence number, 0 before the first
	bits [WindowSize / 64]uint64
}

// Fresh reports whether seq would be accepted: not zero, not seen, not older
// than the window.
func (w *Window) Fresh(seq uint64) bool {
	switch {
	case seq == 0:
		return false
	case seq > w.top:
		return true
	case w.top-seq >= WindowSize:
		return false
	}
	return w.bits[(seq%WindowSize)/64]&(1<<(seq%64)) == 0
}

// Accept records seq. Call it only after Fresh(seq) and a successful
// authentication.
func (w *Window) Accept(seq uint64) {
	if seq > w.top {
		shift := seq - w.top
		if shift >= WindowSize {
			w.bits = [WindowSize / 64]uint64{}
		} else {
			for s := w.top + 1; s <= seq; s++ {
				w.bits[(s%WindowSize)/64] &^= 1 << (s % 64)
			}
		}
		w.top = seq
	}
	w.bits[(seq%WindowSize)/64] |= 1 << (seq % 64)
}
