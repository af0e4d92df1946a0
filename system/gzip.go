package system

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/klauspost/compress/gzhttp"
)

// withGzip accepts gzip-compressed request bodies (Content-Encoding: gzip) and gzips
// responses for clients that ask (Accept-Encoding), the analysis' compression item.
// Response compression is klauspost/compress's gzhttp; the body limit of each handler
// applies to the decompressed bytes, so a small compressed body cannot inflate past it.
func withGzip(next http.Handler) http.Handler {
	decompress := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
		case "", "identity":
		case "gzip":
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("Content-Encoding gzip, but the body is not gzip: %v", err))
				return
			}
			defer zr.Close()
			r.Body = struct {
				io.Reader
				io.Closer
			}{zr, r.Body}
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
