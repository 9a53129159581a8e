package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
)

// decompress returns a reader of r's content, gunzipped when it starts
// with the gzip magic bytes 1f 8b. Decompression runs ahead of the reader
// in its own goroutine, so that it overlaps with parsing; the caller must
// call stop once done with the reader (stop is never nil).
func decompress(r io.Reader) (_ io.Reader, stop func(), _ error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if m, err := br.Peek(2); err == nil && m[0] == 0x1f && m[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, func() {}, fmt.Errorf("data: gzip header: %w: %w", err, ErrFormat)
		}
		a := readAhead(gzipErrors{zr})
		return a, a.stop, nil
	}
	return br, func() {}, nil
}

// aheadReader reads its source in a goroutine, a few chunks ahead of its
// consumer.
type aheadReader struct {
	chunks   chan aheadChunk
	free     chan []byte
	done     chan struct{}
	finished chan struct{}
	cur      []byte // unread part of the current chunk
	buf      []byte // the current chunk's buffer, recycled when consumed
	err      error  // the source's error, once reached
}

type aheadChunk struct {
	b   []byte
	err error
}

const aheadSize = 1 << 18

func readAhead(src io.Reader) *aheadReader {
	a := &aheadReader{
		chunks:   make(chan aheadChunk, 2),
		free:     make(chan []byte, 4),
		done:     make(chan struct{}),
		finished: make(chan struct{}),
	}
	go func() {
		defer close(a.finished)
		for {
			var b []byte
			select {
			case b = <-a.free:
			default:
				b = make([]byte, aheadSize)
			}
			n := 0
			var err error
			for n < len(b) && err == nil {
				var k int
				k, err = src.Read(b[n:])
				n += k
			}
			select {
			case a.chunks <- aheadChunk{b[:n], err}:
			case <-a.done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return a
}

func (a *aheadReader) Read(p []byte) (int, error) {
	for len(a.cur) == 0 {
		if a.err != nil {
			return 0, a.err
		}
		if a.buf != nil {
			select {
			case a.free <- a.buf[:cap(a.buf)]:
			default:
			}
			a.buf = nil
		}
		c := <-a.chunks
		a.cur, a.buf, a.err = c.b, c.b, c.err
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

// stop ends the goroutine and waits for it.
func (a *aheadReader) stop() {
	close(a.done)
	<-a.finished
}

// gzipErrors marks the errors of a gzip stream (corrupt or truncated
// data, a bad checksum) as ErrFormat, leaving io.EOF as it is.
type gzipErrors struct{ r io.Reader }

func (g gzipErrors) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	switch {
	case err == nil || err == io.EOF:
	case err == io.ErrUnexpectedEOF:
		err = fmt.Errorf("data: truncated gzip data: %w: %w", err, ErrFormat)
	default:
		err = fmt.Errorf("data: corrupt gzip data: %w: %w", err, ErrFormat)
	}
	return n, err
}

// readBody reads nbytes from r in chunks of whole elements of size bytes
// and hands each chunk to fn with the index of its first element. Memory
// grows with the data that actually arrives, whatever nbytes claims.
// what names the data in a truncation error.
func readBody(r io.Reader, nbytes, size int, what string, fn func(chunk []byte, first int) error) error {
	const chunk = 1 << 16 // a multiple of every element size
	buf := make([]byte, min(nbytes, chunk))
	for done := 0; done < nbytes; {
		k, err := io.ReadFull(r, buf[:min(chunk, nbytes-done)])
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return fmt.Errorf("data: %s: expected %d bytes, found %d: %w", what, nbytes, done+k, ErrFormat)
			}
			return err
		}
		if err := fn(buf[:k], done/size); err != nil {
			return err
		}
		done += k
	}
	return nil
}

// checkEnd fails if r has data left.
func checkEnd(r io.Reader, what string) error {
	var one [1]byte
	_, err := io.ReadFull(r, one[:])
	switch {
	case err == nil:
		return fmt.Errorf("data: %s: unexpected data after the end: %w", what, ErrFormat)
	case errors.Is(err, io.EOF):
		return nil
	}
	return err
}

// withFile opens path and calls read with it, adding the path to errors.
func withFile(path string, read func(r io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	if err := read(f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// DefaultMaxLine is the default bound on the length of one line of CSV or
// LibSVM text: 16 MiB, a million features with room to spare. A reader
// holds at most about one line in memory besides the values it keeps.
const DefaultMaxLine = 16 << 20

// lineLimit passes its source's bytes through and fails once a line
// (the bytes between two newlines) is longer than max, so that a
// malformed file of one endless line is refused after reading max bytes
// of it rather than held in memory whole.
type lineLimit struct {
	r    io.Reader
	what string
	max  int
	cur  int // bytes of the current line so far
	line int // 1-based number of the current line
}

func newLineLimit(r io.Reader, what string, max int) *lineLimit {
	if max <= 0 {
		max = DefaultMaxLine
	}
	return &lineLimit{r: r, what: what, max: max, line: 1}
}

func (l *lineLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	b := p[:n]
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		seg := len(b)
		if i >= 0 {
			seg = i
		}
		if l.cur+seg > l.max {
			return n - len(b) + (l.max - l.cur), fmt.Errorf("data: %s line %d: longer than %d bytes: %w", l.what, l.line, l.max, ErrFormat)
		}
		if i < 0 {
			l.cur += seg
			break
		}
		l.cur = 0
		l.line++
		b = b[i+1:]
	}
	return n, err
}

// skipBOM drops a UTF-8 byte order mark at the start of r.
func skipBOM(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	return br
}
