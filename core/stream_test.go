package core

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/isogate/isogate/codes"
)

// patternReader reads byte i as i mod 251, without end, so a chunk lost or
// out of order shows.
type patternReader struct{ at int }

func (p *patternReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte((p.at + i) % 251)
	}
	p.at += len(b)
	return len(b), nil
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// stalled reads nothing until ctx ends.
type stalled struct{ ctx context.Context }

func (s stalled) Read([]byte) (int, error) {
	<-s.ctx.Done()
	return 0, s.ctx.Err()
}

// readStream reads the data messages of call id after its reply: the
// bytes, and the error the last one carried.
func readStream(t *testing.T, f *fakeFrame, c *websocket.Conn, id int) ([]byte, *replyMsg) {
	t.Helper()
	var got []byte
	for {
		m, err := f.recv(c)
		if err != nil {
			t.Fatalf("stream of %d: %v", id, err)
		}
		if m.Type != "data" || m.ID != id {
			t.Fatalf("got a %s for %d while streaming call %d", m.Type, m.ID, id)
		}
		if len(m.Blobs) > streamChunk {
			t.Fatalf("a data message of %d bytes; chunks are at most %d", len(m.Blobs), streamChunk)
		}
		got = append(got, m.Blobs...)
		if m.End {
			return got, m
		}
	}
}

func streamed(t *testing.T, r *replyMsg, at string) {
	t.Helper()
	if !r.OK || r.Stream == nil || *r.Stream != at {
		t.Fatalf("reply %+v (stream %v), want a stream at %q", r, r.Stream, at)
	}
}

// A result longer than one chunk arrives as a reply announcing the stream
// and then the bytes, in order, in bounded chunks, the last one marked.
func TestStream_LongResultArrivesInChunksInOrder(t *testing.T) {
	h := newHarness(t, Limits{MaxBinaryBytes: 8 << 20})
	f, _ := h.pageLoad(t)
	c := f.connect()
	const n = 3<<20 + 12345
	r := f.call(c, 1, "t.download", fmt.Sprintf(`{"n":%d}`, n))
	streamed(t, r, "/data")
	if string(r.Result) != `{"data":null,"name":"x"}` {
		t.Fatalf("result %s: the stream's place holds null", r.Result)
	}
	got, end := readStream(t, f, c, 1)
	if end.Error != nil || !bytes.Equal(got, pattern(n)) {
		t.Fatalf("stream: %d bytes, error %+v; want the %d bytes in order", len(got), end.Error, n)
	}
	if r := f.call(c, 2, "t.echo", `{"msg":"after"}`); !r.OK {
		t.Fatalf("a call after the stream: %+v", r)
	}
}

// A reader known to fit in one chunk is a blob in the reply, as []byte
// would be: no stream, no extra frame. One of unknown length is announced
// at once and streamed, however short.
func TestStream_ShortSizedResultIsInline(t *testing.T) {
	h := newHarness(t, Limits{})
	f, _ := h.pageLoad(t)
	c := f.connect()
	for _, n := range []int{0, 1000, streamChunk} {
		r := f.call(c, n+1, "t.download", fmt.Sprintf(`{"n":%d,"sized":true}`, n))
		if !r.OK || r.Stream != nil || !bytes.Equal(r.Blobs, pattern(n)) {
			t.Fatalf("%d: reply ok %v, stream %v, with %d bytes; want them inline", n, r.OK, r.Stream, len(r.Blobs))
		}
	}
	r := f.call(c, 7, "t.download", `{"n":1000}`)
	streamed(t, r, "/data")
	if got, end := readStream(t, f, c, 7); end.Error != nil || !bytes.Equal(got, pattern(1000)) {
		t.Fatalf("unsized: %d bytes, end %+v", len(got), end.Error)
	}
	r = f.call(c, 8, "t.download", fmt.Sprintf(`{"n":%d,"sized":true}`, streamChunk+1))
	streamed(t, r, "/data")
	if got, end := readStream(t, f, c, 8); end.Error != nil || !bytes.Equal(got, pattern(streamChunk+1)) {
		t.Fatalf("sized past a chunk: %d bytes, end %+v", len(got), end.Error)
	}
}

// A reader that watches nothing (an io.Pipe that is never written again)
// still ends with the call's timeout, and the next call runs: the reader
// is closed, and the stream's goroutine does not wait on it.
func TestStream_BlockedReaderEndsWithTheTimeout(t *testing.T) {
	h := newHarness(t, Limits{CallTimeout: 300 * time.Millisecond, MaxInFlight: 1})
	f, _ := h.pageLoad(t)
	c := f.connect()
	r := f.call(c, 1, "t.pipe", `{}`)
	streamed(t, r, "")
	got, end := readStream(t, f, c, 1)
	if end.Code() != codes.Timeout || string(got) != "first" {
		t.Fatalf("blocked reader: %q, end %+v", got, end.Error)
	}
	if r := f.call(c, 2, "t.echo", `{"msg":"next"}`); !r.OK {
		t.Fatalf("the next call with the one slot: %+v", r)
	}
}

// A stream is bounded as a blob is: past MaxBinaryBytes it ends with
// too_large, and nothing past the bound was sent.
func TestStream_PastTheBoundEndsTooLarge(t *testing.T) {
	h := newHarness(t, Limits{MaxBinaryBytes: 2 << 20})
	f, _ := h.pageLoad(t)
	c := f.connect()
	r := f.call(c, 1, "t.download", fmt.Sprintf(`{"n":%d}`, 5<<20))
	streamed(t, r, "/data")
	got, end := readStream(t, f, c, 1)
	if end.Code() != codes.TooLarge || len(got) > 2<<20 {
		t.Fatalf("stream ended with %+v after %d bytes; want too_large within %d", end.Error, len(got), 2<<20)
	}
}

// The page's cancel ends a stream under way, and the call's slot is free
// again once it has: with one slot, the next call runs.
func TestStream_CancelEndsItAndFreesTheSlot(t *testing.T) {
	h := newHarness(t, Limits{MaxInFlight: 1})
	f, _ := h.pageLoad(t)
	c := f.connect()
	r := f.call(c, 1, "t.stall", `{}`)
	streamed(t, r, "")
	for n := 0; n < 3<<19; { // all the reader has, then it stalls
		m, err := f.recv(c)
		if err != nil || m.Type != "data" || m.End {
			t.Fatalf("after %d bytes: a %s, end %v, %v", n, m.Type, m.End, err)
		}
		n += len(m.Blobs)
	}
	f.send(c, []byte(`{"type":"cancel","id":1}`))
	got, end := readStream(t, f, c, 1)
	if end.Code() != codes.Unavailable || end.Error.Message != "cancelled by the page" || len(got) != 0 {
		t.Fatalf("after the cancel: %d more bytes, end %+v", len(got), end.Error)
	}
	if r := f.call(c, 2, "t.echo", `{"msg":"next"}`); !r.OK {
		t.Fatalf("the next call with the one slot: %+v", r)
	}
}

// The call's timeout covers its stream: one that stalls ends with timeout.
func TestStream_StalledEndsWithTheCallTimeout(t *testing.T) {
	h := newHarness(t, Limits{CallTimeout: 300 * time.Millisecond})
	f, _ := h.pageLoad(t)
	c := f.connect()
	r := f.call(c, 1, "t.stall", `{}`)
	streamed(t, r, "")
	got, end := readStream(t, f, c, 1)
	if end.Code() != codes.Timeout || len(got) != 3<<19 {
		t.Fatalf("stalled stream: %d bytes, end %+v; want all 1.5 MiB then timeout", len(got), end.Error)
	}
}

// A reader that panics ends its stream with handler_error; the
// connection and the core go on.
func TestStream_PanickingReaderEndsHandlerError(t *testing.T) {
	h := newHarness(t, Limits{})
	f, _ := h.pageLoad(t)
	c := f.connect()
	r := f.call(c, 1, "t.panicreader", `{}`)
	streamed(t, r, "")
	if _, end := readStream(t, f, c, 1); end.Code() != codes.HandlerError {
		t.Fatalf("panicking reader ended with %+v", end.Error)
	}
	if r := f.call(c, 2, "t.echo", `{"msg":"next"}`); !r.OK {
		t.Fatalf("a call after: %+v", r)
	}
}

// A result with two readers is the handler's mistake: handler_error, and
// both are closed.
func TestStream_TwoReadersRefused(t *testing.T) {
	h := newHarness(t, Limits{})
	f, _ := h.pageLoad(t)
	c := f.connect()
	wantCode(t, f.call(c, 1, "t.tworeaders", `{}`), codes.HandlerError)
	if !closedBoth.Load() {
		t.Fatal("the readers were not closed")
	}
}

type panicReader struct{}

func (panicReader) Read([]byte) (int, error) { panic("reader bug") }

var closedBoth atomic.Bool

// closeTracker is a reader that records being closed; closedBoth is set
// once it and its other have both been.
type closeTracker struct {
	closed atomic.Bool
	other  *closeTracker
}

func (c *closeTracker) Read([]byte) (int, error) { return 0, io.EOF }
func (c *closeTracker) Close() error {
	c.closed.Store(true)
	if c.other.closed.Load() {
		closedBoth.Store(true)
	}
	return nil
}
