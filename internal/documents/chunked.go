package documents

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// putChunked uploads with Nextcloud's chunked upload v2: MKCOL of
// uploads/{user}/{transfer-id} with Destination, PUT of the chunks 00001,
// 00002 … (each streamed straight from r, never buffered), and a MOVE of
// .file to the destination with OC-Total-Length. On any failure the upload
// folder is deleted.
func (w *WebDAV) putChunked(ctx context.Context, p string, vr *verifyReader, size int64, mtime time.Time) (err error) {
	id := "ec-" + randomHex(16)
	dir := *w.uploads
	dir.Path += id
	dest := w.fileURL(p).String()
	total := strconv.FormatInt(size, 10)
	w.log.Debug("documents: chunked upload", slog.String("path", p), slog.Int64("size", size), slog.String("transfer_id", id))
	if err := w.call(ctx, "MKCOL", &dir, id, nil, 0, http.Header{"Destination": {dest}}, http.StatusCreated); err != nil {
		return fmt.Errorf("documents: start chunked upload of %s: %w", p, err)
	}
	defer func() {
		if err != nil {
			w.cleanup(ctx, &dir, id)
		}
	}()
	hdr := http.Header{"Destination": {dest}, "OC-Total-Length": {total}, "Content-Type": {"application/octet-stream"}}
	for n, sent := 1, int64(0); sent < size; n++ {
		if n > 10000 {
			return fmt.Errorf("documents: %s needs more than 10000 chunks; raise the chunk size", p)
		}
		length := min(w.chunkSize, size-sent)
		name := fmt.Sprintf("%05d", n)
		chunk := dir
		chunk.Path += "/" + name
		err := w.call(ctx, http.MethodPut, &chunk, id+"/"+name, io.LimitReader(vr, length), length, hdr, http.StatusCreated, http.StatusNoContent, http.StatusOK)
		if err != nil {
			return fmt.Errorf("documents: chunk %d of %s: %w", n, p, err)
		}
		sent += length
	}
	if size == 0 || vr.n == size && !vr.done {
		// Nothing asked the reader for its end yet: check it now.
		if _, err := vr.Read(make([]byte, 1)); err != io.EOF {
			return err
		}
	}
	return w.finishChunked(ctx, &dir, id, dest, total, mtime, vr.sum())
}

// finishChunked moves the assembled .file to the destination.
func (w *WebDAV) finishChunked(ctx context.Context, dir *url.URL, id, dest, total string, mtime time.Time, sum string) error {
	file := *dir
	file.Path += "/.file"
	hdr := http.Header{"Destination": {dest}, "OC-Total-Length": {total}, "Overwrite": {"T"}, "OC-Checksum": {"SHA256:" + sum}}
	if !mtime.IsZero() {
		hdr.Set("X-OC-MTime", strconv.FormatInt(mtime.Unix(), 10))
	}
	if err := w.call(ctx, "MOVE", &file, id+"/.file", nil, 0, hdr, http.StatusCreated, http.StatusNoContent); err != nil {
		return fmt.Errorf("documents: finish chunked upload: %w", err)
	}
	return nil
}
