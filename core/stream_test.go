package core

import (
	"bytes"
	"context"
	"fmt"
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
			t.Fatalf("got %+v while streaming call %d", m, id)
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

// A reader whose bytes fit in one chunk is a blob in the reply, as []byte
// would be: no stream, no extra frame.
func TestStream_ShortResultIsInline(t *testing.T) {
	h := newHarness(t, Limits{})
	f, _ := h.pageLoad(t)
	c := f.connect()
	r := f.call(c, 1, "t.download", `{"n":1000}`)
	if !r.OK || r.Stream != nil || !bytes.Equal(r.Blobs, pattern(1000)) {
		t.Fatalf("reply %+v with %d bytes; want the 1000 bytes inline", r, len(r.Blobs))
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
	if m, err := f.recv(c); err != nil || m.Type != "data" || m.End || len(m.Blobs) != streamChunk {
		t.Fatalf("first chunk: %+v %v", m, err)
	}
	f.send(c, []byte(`{"type":"cancel","id":1}`))
	got, end := readStream(t, f, c, 1)
	if end.Code() != codes.Unavailable || end.Error.Message != "cancelled by the page" || len(got) != 3<<19-streamChunk {
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
