package reports

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// MaxResultBytes bounds the result files wfbench reads. A result grows with the length
// of its runs, not with their jobs: a run's histograms take a few KB to ~30 KB whatever
// it measured, and each interval of its time series 700-900 bytes (a 1M-job run of 8
// minutes, 482 intervals, writes 356 KB). 256 MiB holds some 300,000 intervals, three
// days of runs at the default 1 s interval and 8 hours at the finest (100 ms), while a
// file read whole stays well within a machine's memory.
const MaxResultBytes = 256 << 20

// ReadJSON reads a result.json as report, compare and merge do, refusing rather than
// trusting a malformed one: a file over MaxResultBytes is not read, the JSON must be a
// result of this schema, and every histogram must decode (see DecodeHistogram). Every
// error names the file and what is wrong with it.
func ReadJSON(path string) (*Result, error) {
	data, err := readBounded(path, MaxResultBytes)
	if err != nil {
		return nil, err
	}
	return parseResult(path, data)
}

// readBounded reads path whole, refusing one over limit before reading it when its size
// is known (a regular file) and after limit+1 bytes otherwise (a pipe, a device).
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a folder, not a result file (give its result.json)", path)
	}
	tooBig := func(size string) error {
		return fmt.Errorf("%s is %s: more than the %d MiB wfbench reads as a result (not a result.json?)", path, size, limit>>20)
	}
	if st.Mode().IsRegular() && st.Size() > limit {
		return nil, tooBig(fmt.Sprintf("%d MiB", st.Size()>>20))
	}
	var buf bytes.Buffer
	if st.Mode().IsRegular() {
		buf.Grow(int(st.Size()) + 512) // one allocation, not a doubling series
	}
	if _, err := buf.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(buf.Len()) > limit {
		return nil, tooBig(fmt.Sprintf("over %d MiB", limit>>20))
	}
	return buf.Bytes(), nil
}

// parseResult decodes a result file's contents; name is the file, for errors.
func parseResult(name string, data []byte) (*Result, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: empty file, not a result", name)
	}
	var res Result
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("%s: %s", name, jsonProblem(data, err))
	}
	if res.Schema != Schema {
		return nil, fmt.Errorf("%s: schema %q, want %q", name, res.Schema, Schema)
	}
	// Reports decode the histograms when they draw them, long after the file was read:
	// a bad one is the file's fault and is said now, naming the file.
	for i := range res.Runs {
		r := &res.Runs[i]
		for _, pt := range slices.Sorted(maps.Keys(r.Histograms)) {
			if _, err := r.Histogram(pt); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return &res, nil
}

// jsonProblem says where and how data is not a result's JSON.
func jsonProblem(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se) && se.Offset >= int64(len(data)):
		return fmt.Sprintf("the file ends at byte %d before its JSON does (cut short?)", len(data))
	case errors.As(err, &se):
		return fmt.Sprintf("not valid JSON: %s: %v", lineCol(data, se.Offset-1), err)
	case errors.As(err, &te):
		return fmt.Sprintf("%s: %v", lineCol(data, te.Offset-1), err)
	}
	return err.Error()
}

// lineCol turns a byte offset into "line L, column C" (1-based). json's offsets count
// the bytes read, the culprit's included: callers pass the culprit's own.
func lineCol(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

// What a histogram in a result file may be. wfbench writes 1 µs .. 1 h at 3 digits:
// 23,552 counts, 184 KiB once decoded. A reader takes any V2 histogram within the
// project's range (HistMinUS .. HistMaxUS) with 1 to 5 significant figures whose counts
// array stays within maxHistCounts, so that no header makes it allocate more than that:
// the library sizes the array from the header alone.
const (
	maxHistCounts  = 1 << 19           // 4 MiB of counts; 4 digits over 1 µs .. 1 h need 311,296
	maxHistPayload = 9 * maxHistCounts // a V2 count takes at most 9 bytes
	maxHistEncoded = 8 << 20           // base64 of the largest payload, stored uncompressed
	histHeaderSize = 40
)

// errLibraryPanic marks a histogram the checks passed and the library still panicked on:
// a gap in the checks (the fuzz target fails on it).
var errLibraryPanic = errors.New("the HdrHistogram library panicked on it")

// DecodeHistogram reverses EncodeHistogram. The encoding is checked before the library
// sees it, as the library panics on short or inconsistent input, sizes its counts from
// the header and inflates the payload without a limit; a panic the checks did not
// foresee is still returned as an error.
func DecodeHistogram(s string) (h *hdrhistogram.Histogram, err error) {
	if err := checkHistogram(s); err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			h, err = nil, fmt.Errorf("decode histogram: %w (%v)", errLibraryPanic, p)
		}
	}()
	h, err = hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	return h, nil
}

// checkHistogram checks what hdrhistogram.Decode would read, in its order, without
// keeping the inflated payload: the outer cookie and length, then the zlib stream.
func checkHistogram(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	if len(s) > maxHistEncoded {
		return fmt.Errorf("%d bytes of base64: more than a histogram can take (%d)", len(s), maxHistEncoded)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("not base64: %w", err)
	}
	if len(raw) < 8 {
		return fmt.Errorf("%d bytes: too short for a histogram's cookie and length", len(raw))
	}
	if c := int32(binary.BigEndian.Uint32(raw)) &^ 0xf0; c != hdrhistogram.V2CompressedEncodingCookieBase {
		return fmt.Errorf("cookie %#x: not a V2 compressed histogram", c)
	}
	n := int32(binary.BigEndian.Uint32(raw[4:]))
	if n < 0 || int(n) > len(raw)-8 {
		return fmt.Errorf("compressed length %d, but %d bytes follow", n, len(raw)-8)
	}
	z, err := zlib.NewReader(bytes.NewReader(raw[8 : 8+n]))
	if err != nil {
		return fmt.Errorf("not zlib: %w", err)
	}
	defer z.Close()
	return checkInflated(bufio.NewReader(z))
}

// checkInflated checks the inflated histogram as it streams: the header, then each count.
func checkInflated(r *bufio.Reader) error {
	var hdr [histHeaderSize]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		return fmt.Errorf("header cut short at %d of %d bytes: %w", n, histHeaderSize, err)
	}
	if c := int32(binary.BigEndian.Uint32(hdr[0:])) &^ 0xf0; c != hdrhistogram.V2EncodingCookieBase {
		return fmt.Errorf("inner cookie %#x: not a V2 histogram", c)
	}
	plen := int32(binary.BigEndian.Uint32(hdr[4:]))
	sig := int32(binary.BigEndian.Uint32(hdr[12:]))
	lowest := int64(binary.BigEndian.Uint64(hdr[16:]))
	highest := int64(binary.BigEndian.Uint64(hdr[24:]))
	counts, err := histCounts(sig, lowest, highest)
	if err != nil {
		return err
	}
	if plen < 0 || int64(plen) > 9*counts {
		return fmt.Errorf("payload of %d bytes: more than %d counts can take (%d)", plen, counts, 9*counts)
	}
	return checkCounts(r, int64(plen), counts)
}

// histCounts checks a histogram's bounds and returns the length of the counts array the
// library will allocate for them (its New's arithmetic).
func histCounts(sig int32, lowest, highest int64) (int64, error) {
	switch {
	case sig < 1 || sig > 5:
		return 0, fmt.Errorf("%d significant figures: accepted are 1 to 5", sig)
	case lowest < HistMinUS:
		return 0, fmt.Errorf("lowest trackable value %d: must be at least %d", lowest, HistMinUS)
	case highest > HistMaxUS:
		return 0, fmt.Errorf("highest trackable value %d µs: more than wfbench's %d (1 h)", highest, HistMaxUS)
	case lowest > highest/2: // not highest < 2*lowest, which overflows
		return 0, fmt.Errorf("lowest trackable value %d is above half the highest (%d)", lowest, highest)
	}
	subBucketHalfMag := max(int32(math.Ceil(math.Log2(2*math.Pow10(int(sig))))), 1) - 1
	unitMag := max(int32(math.Floor(math.Log2(float64(lowest)))), 0)
	subBuckets := int64(1) << (subBucketHalfMag + 1)
	buckets := int64(1)
	for v := subBuckets << unitMag; v < highest; v <<= 1 { // v < 2^50: no overflow
		buckets++
	}
	n := (buckets + 1) * (subBuckets / 2)
	if n > maxHistCounts {
		return 0, fmt.Errorf("%d significant figures from %d to %d need %d counts: more than the %d a reader allocates", sig, lowest, highest, n, maxHistCounts)
	}
	return n, nil
}

// checkCounts walks the ZigZag LEB128 counts (a negative one is a run of zeros) as the
// library will store them: every index within the array, the total within int64, and
// exactly plen bytes, as the library compares the whole stream with the header's length.
func checkCounts(r *bufio.Reader, plen, counts int64) error {
	var idx, total, read int64
	for read < plen {
		v, n, err := readZigZag(r, plen-read)
		if err != nil {
			return fmt.Errorf("payload at byte %d of %d: %w", read, plen, err)
		}
		read += n
		if v < 0 {
			if v == math.MinInt64 || -v > counts-idx {
				return fmt.Errorf("a run of %d zero counts from index %d reaches beyond the %d counts", uint64(-v), idx, counts)
			}
			idx += -v
			continue
		}
		if idx >= counts {
			return fmt.Errorf("count at index %d: beyond the %d counts", idx, counts)
		}
		if v > math.MaxInt64-total {
			return errors.New("the counts' total overflows int64")
		}
		total += v
		idx++
	}
	switch _, err := r.ReadByte(); {
	case err == nil:
		return fmt.Errorf("payload: more than the %d bytes its header says", plen)
	case !errors.Is(err, io.EOF):
		return fmt.Errorf("zlib: %w", err)
	}
	return nil
}

// readZigZag reads one value as hdrhistogram-go does: 7 bits a byte for up to 8 bytes,
// then a ninth byte of 8; left is what remains of the payload.
func readZigZag(r *bufio.Reader, left int64) (int64, int64, error) {
	var u uint64
	for n := int64(1); ; n++ {
		if n > left {
			return 0, 0, errors.New("a count truncated at the payload's end")
		}
		b, err := r.ReadByte()
		if errors.Is(err, io.EOF) {
			return 0, 0, errors.New("the data ends before the header's payload length")
		}
		if err != nil {
			return 0, 0, fmt.Errorf("zlib: %w", err)
		}
		if n == 9 {
			u |= uint64(b) << 56
			return int64(u>>1) ^ -int64(u&1), n, nil
		}
		u |= uint64(b&0x7f) << (7 * (n - 1))
		if b&0x80 == 0 {
			return int64(u>>1) ^ -int64(u&1), n, nil
		}
	}
}
