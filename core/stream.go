package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"

	"github.com/coder/websocket"
	"github.com/isogate/isogate/codes"
	"github.com/isogate/isogate/httpapi"
	"github.com/isogate/isogate/internal/jsonptr"
)

// A result may hold one io.Reader: a Go handler's download, the body of
// the app's HTTP API's response. Its bytes go to the page as the reader
// gives them (docs/protocol.md, "Streamed results"): what fits in one chunk
// travels in the reply as a blob, like any []byte; anything longer is
// announced by the reply ("stream": the pointer to its place, which holds
// null) and follows in data messages of at most streamChunk bytes, each
// its own frame, the last one marked "end", with the error that cut the
// stream short if one did. The bridge hands the page a ReadableStream
// there. A stream is bounded like a blob (MaxBinaryBytes) and runs within
// the call: its slot, its timeout, the page's cancel.

// streamChunk is the most one data message carries; pieceSize what one
// read asks the reader for.
const (
	streamChunk = 1 << 20
	pieceSize   = 256 << 10
)

// stream is a result's reader, being read on its own goroutine (a feed).
type stream struct {
	path  string // JSON pointer to its place in the result
	feed  *feed
	first []byte // a first chunk already taken, or nil
}

// feed reads a reader on its own goroutine into pieces, at most a chunk's
// worth ahead of what has been taken. The goroutine ends at the reader's
// end or error, or when the call's context ends; a reader that is an
// io.Closer is closed then too, which ends a read blocked in it. (One that
// blocks and cannot be closed keeps only that goroutine; the call ends.)
type feed struct {
	ctx     context.Context
	r       io.Reader
	pieces  chan piece
	pending *piece // taken from pieces, did not fit the last chunk
	done    bool   // the last piece (the end or an error) was taken
	err     error  // its error: io.EOF at the end
	stop    func() bool
}

// readerPanic is a reader's panic, met on its feed's goroutine.
type readerPanic struct {
	value any
	stack []byte
}

func (p *readerPanic) Error() string { return fmt.Sprint("the reader panicked: ", p.value) }

type piece struct {
	b   []byte
	err error // io.EOF at the end
}

func startFeed(ctx context.Context, r io.Reader) *feed {
	f := &feed{ctx: ctx, r: r, pieces: make(chan piece, streamChunk/pieceSize)}
	f.stop = context.AfterFunc(ctx, func() { closeReader(r) })
	go func() {
		defer func() {
			if p := recover(); p != nil {
				f.put(piece{err: &readerPanic{value: p, stack: debug.Stack()}})
			}
		}()
		for {
			buf := make([]byte, pieceSize)
			n, err := r.Read(buf)
			if n > 0 && !f.put(piece{b: buf[:n]}) {
				return
			}
			if err != nil {
				f.put(piece{err: err})
				return
			}
		}
	}()
	return f
}

// put hands a piece over, unless the call ended first.
func (f *feed) put(p piece) bool {
	select {
	case f.pieces <- p:
		return true
	case <-f.ctx.Done():
		return false
	}
}

// close ends the feed: the reader is closed, its goroutine ends.
func (f *feed) close() {
	f.stop()
	closeReader(f.r)
}

// next is the next chunk, of at most max bytes: it waits for one piece,
// then takes what else has been read already, so a fast reader's bytes
// leave in full chunks and a trickling one's (server-sent events, a model
// streaming tokens) as soon as they come. err is io.EOF with the last
// bytes, or the reader's error, or the call's context's.
func (f *feed) next(max int) ([]byte, error) {
	var chunk []byte
	// add takes p; false once the chunk is full or p ended the feed.
	add := func(p piece) bool {
		if p.err != nil {
			f.done, f.err = true, p.err
			return false
		}
		if room := max - len(chunk); len(p.b) > room {
			if len(chunk) > 0 {
				f.pending = &p
				return false
			}
			chunk = append(chunk, p.b[:room]...)
			f.pending = &piece{b: p.b[room:]}
			return false
		}
		chunk = append(chunk, p.b...)
		return len(chunk) < max
	}
	end := func() error {
		if f.done && f.pending == nil {
			return f.err
		}
		return nil
	}
	if f.pending != nil {
		p := *f.pending
		f.pending = nil
		if !add(p) {
			return chunk, end()
		}
	}
	if f.done {
		return chunk, f.err
	}
	if len(chunk) == 0 {
		select {
		case p := <-f.pieces:
			if !add(p) {
				return chunk, end()
			}
		case <-f.ctx.Done():
			return nil, f.ctx.Err()
		}
	}
	for {
		select {
		case p := <-f.pieces:
			if !add(p) {
				return chunk, end()
			}
		default:
			return chunk, nil
		}
	}
}

// sized is a reader that knows how many bytes it has left (a bytes.Reader;
// an HTTP body with a Content-Length), or -1.
type sized interface{ Len() int }

// openStream finds the io.Reader in a handler's result and starts reading
// it. A reader known to fit in one chunk (it says its Len, as a
// bytes.Reader and an HTTP body with a Content-Length do) comes back as its
// bytes, and one that fails doing so is the call's error, as the handler's
// own would be; any other is a stream, with null in its place. A result
// holding more than one reader is a handler's mistake.
func (c *Core) openStream(s *session, m *message, result any) (any, *stream, error) {
	readers := findReaders(result, nil, nil)
	if len(readers) == 0 {
		return result, nil, nil
	}
	if len(readers) > 1 {
		for _, r := range readers {
			closeReader(r.r)
		}
		c.log.Error("a result holds more than one reader", "name", m.Name)
		return nil, nil, &Error{Code: codes.HandlerError, Message: "command result could not be encoded"}
	}
	toks, r := readers[0].path, readers[0].r
	size := c.chunkSize()
	known := -1
	if n, ok := r.(sized); ok {
		known = n.Len() // asked before the feed reads it
	}
	f := startFeed(m.ctx, r)
	var first []byte
	if known >= 0 && known <= size {
		// Known to fit: read to its end (or one byte past a chunk, if it
		// was wrong), so that it goes inline.
		var err error
		for err == nil && len(first) <= size {
			var more []byte
			more, err = f.next(size + 1 - len(first))
			first = append(first, more...)
		}
		switch {
		case err == io.EOF && len(first) <= size:
			f.close()
			return replaceAt(result, toks, first), nil, nil
		case err != nil && err != io.EOF:
			f.close()
			return nil, nil, c.streamError(s, m, err)
		}
		// More than a chunk after all: what is over goes next.
		rest := first[size:]
		if f.pending != nil {
			rest = append(rest, f.pending.b...)
		}
		f.pending, first = &piece{b: rest}, first[:size]
		if err == io.EOF {
			f.done, f.err = true, io.EOF
		}
	}
	// Of unknown length: announced at once, so that the page has the head
	// (an HTTP status and headers) before the first bytes, which may be
	// long in coming (server-sent events).
	path := ""
	for _, t := range toks {
		path += "/" + jsonptr.Escape(t)
	}
	return replaceAt(result, toks, nil), &stream{path: path, feed: f, first: first}, nil
}

func (c *Core) chunkSize() int {
	return int(min(int64(streamChunk), c.limits.MaxBinaryBytes))
}

type foundReader struct {
	path []string
	r    io.Reader
}

// findReaders is every io.Reader in v, with its path, looking through maps
// and slices as splitBlobs does.
func findReaders(v any, path []string, out []foundReader) []foundReader {
	switch x := v.(type) {
	case []byte:
	case io.Reader:
		out = append(out, foundReader{path, x})
	case map[string]any:
		for k, e := range x {
			out = findReaders(e, append(path[:len(path):len(path)], k), out)
		}
	case []any:
		for i, e := range x {
			out = findReaders(e, append(path[:len(path):len(path)], strconv.Itoa(i)), out)
		}
	}
	return out
}

// closeResult closes the readers of a result nobody will read (its call
// ended before the handler answered).
func closeResult(v any) {
	for _, r := range findReaders(v, nil, nil) {
		closeReader(r.r)
	}
}

// replaceAt is v with the value at path set to nv, copying the maps and
// slices on the way: the handler's own value is left as it was.
func replaceAt(v any, path []string, nv any) any {
	if len(path) == 0 {
		return nv
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
		}
		out[path[0]] = replaceAt(x[path[0]], path[1:], nv)
		return out
	case []any:
		out := append([]any(nil), x...)
		i, _ := strconv.Atoi(path[0])
		out[i] = replaceAt(x[i], path[1:], nv)
		return out
	}
	return v
}

func closeReader(r io.Reader) {
	if c, ok := r.(io.Closer); ok {
		c.Close()
	}
}

// streamError is the page's error for a reader that failed: the call's
// context's when that ended (timeout, cancel), else the reader's own when
// it says one, else unavailable.
func (c *Core) streamError(s *session, m *message, err error) *Error {
	if m.ctx.Err() != nil {
		return c.ended(s, m.ctx)
	}
	if rp := (*readerPanic)(nil); errors.As(err, &rp) {
		c.log.Error("a result's reader panicked", "name", m.Name, "panic", fmt.Sprint(rp.value), "stack", string(rp.stack))
		return &Error{Code: codes.HandlerError, Message: "command failed"}
	}
	var pub *Error
	if errors.As(err, &pub) && pub != nil {
		return pub
	}
	if he := (*httpapi.Error)(nil); errors.As(err, &he) {
		return refusal(he, codes.Unavailable)
	}
	c.log.Error("a streamed result broke off", "name", m.Name, "err", err)
	return &Error{Code: codes.Unavailable, Message: "the result broke off"}
}

// pump sends st after the reply that announced it, on conn, the connection
// the call came on. The feed reads ahead while a chunk is written, and no
// chunk is queued before the one before it has left: a reader faster than
// the page is held back at a chunk ahead, not buffered in the core. A
// panic on the way ends the stream with handler_error.
func (c *Core) pump(s *session, conn *websocket.Conn, m *message, st *stream) {
	defer st.feed.close()
	max := c.limits.MaxBinaryBytes
	sent := int64(0)
	var prev <-chan struct{}
	ended := false
	// send queues one data message once the one before it has left, and
	// reports whether more may follow: not after the end, nor once the
	// connection is gone.
	send := func(chunk []byte, end bool, failure *Error) (more bool) {
		if prev != nil {
			select {
			case <-prev:
			case <-s.ctx.Done():
				return false
			}
		}
		if s.current.Load() != conn {
			return false // the iframe that waits for this stream is gone, and settled it
		}
		if sent+int64(len(chunk)) > max {
			chunk, end, failure = nil, true, &Error{Code: codes.TooLarge, Message: fmt.Sprintf("the result is over %d bytes", max)}
		}
		sent += int64(len(chunk))
		ended = end
		prev = c.writeNotify(s, conn, dataPlaintext(m.ID, chunk, end, failure))
		return !end
	}
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("stream panicked", "session", s.id, "name", m.Name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			if !ended {
				send(nil, true, &Error{Code: codes.HandlerError, Message: "command failed"})
			}
		}
	}()
	size := c.chunkSize()
	for buf := st.first; len(buf) == 0 || send(buf, false, nil); {
		next, err := st.feed.next(size)
		if err == nil {
			buf = next
			continue
		}
		var failure *Error
		if err != io.EOF {
			failure = c.streamError(s, m, err)
		}
		send(next, true, failure)
		return
	}
}

// dataPlaintext is one data message of call id's stream: a chunk (in the
// binary form, the chunk its root blob), and on the last one "end", with
// the error that cut the stream short if one did.
func dataPlaintext(id uint64, chunk []byte, end bool, failure *Error) []byte {
	d := struct {
		Type    string      `json:"type"`
		ID      uint64      `json:"id"`
		Payload any         `json:"payload,omitempty"`
		End     bool        `json:"end,omitempty"`
		Error   *replyError `json:"error,omitempty"`
		Bin     []binEntry  `json:"bin,omitempty"`
	}{Type: "data", ID: id, End: end}
	var blobs [][]byte
	if len(chunk) > 0 {
		d.Bin, blobs = []binEntry{{Path: "", Len: len(chunk)}}, [][]byte{chunk}
	}
	if failure != nil {
		d.Error = &replyError{Code: failure.Code, Message: failure.Message}
	}
	b, _ := json.Marshal(d)
	return joinPlaintext(b, blobs)
}

// ended is the page's error for a call whose context ended before it was
// done: the page gone, its cancel, or the call's timeout.
func (c *Core) ended(s *session, ctx context.Context) *Error {
	if s.ctx.Err() != nil {
		return &Error{Code: codes.Unavailable, Message: "the page went away"}
	}
	if context.Cause(ctx) == errCancelled {
		return &Error{Code: codes.Unavailable, Message: "cancelled by the page"}
	}
	return &Error{Code: codes.Timeout, Message: "command timed out"}
}
