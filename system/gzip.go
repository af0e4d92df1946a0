package system

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/klauspost/compress/gzhttp"
)

// withGzip accepts gzip-compressed request bodies (Content-Encoding: gzip) and gzips
// responses for clients that ask (Accept-Encoding), the analysis' compression item.
// Response compression is klauspost/compress's gzhttp. Both sides of a compressed body
// are bounded by maxBody: the bytes as sent (a stream of empty gzip members inflates
// to nothing, so only this ends it) and the bytes inflated (a few KB inflate to
// megabytes); the handlers' decoders stop at their own item counts well before.
func withGzip(next http.Handler, maxBody int64) http.Handler {
	decompress := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
		case "", "identity":
		case "gzip":
			sent := http.MaxBytesReader(w, r.Body, maxBody)
			zr, err := gzip.NewReader(sent)
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) { // over the limit before its gzip header ended
				writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", maxBody))
				return
			}
			if err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("Content-Encoding gzip, but the body is not gzip: %v", err))
				return
			}
			defer zr.Close()
			r.Body = struct {
				io.Reader
				io.Closer
			}{http.MaxBytesReader(w, io.NopCloser(zr), maxBody), sent}
			r.Header.Del("Content-Encoding")
			r.ContentLength = -1
		default:
			writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Encoding %q: accepted are gzip and identity", enc))
			return
		}
		next.ServeHTTP(w, r)
	})
	return gzhttp.GzipHandler(decompress)
}
