package wheel

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
)

// Limits against zip bombs. A wheel is installed without unpacking, but its bytes still
// become a layer on disk: every limit is on what the archive declares, checked before
// anything is read, and every member is read no further than it declared.
const (
	// maxWheelBytes caps a wheel's total uncompressed size (the largest real wheels,
	// CUDA libraries, are a few GB).
	maxWheelBytes = 8 << 30
	// maxRatio caps the archive's uncompressed size over its size on disk. Real wheels
	// expand 2-10 times (numpy about 3.5); deflate tops out near 1030, which only long
	// runs of one byte reach. There is no ratio for a single member: the archive's ratio
	// and total already bound what any member can add, and a large file of zeros in an
	// otherwise ordinary wheel is not an attack.
	maxRatio = 200
	// ratioFloor is the uncompressed size below which the ratio is not checked, so that
	// a small wheel of highly compressible text is fine.
	ratioFloor = 16 << 20
	// maxMetaFile caps a metadata file pyship reads into memory (METADATA, WHEEL,
	// RECORD, entry_points.txt).
	maxMetaFile = 16 << 20
	// maxScript caps a #!python script, which is rewritten in memory.
	maxScript = 64 << 20
)

// ArchiveError is a wheel refused for what its zip archive holds or declares.
type ArchiveError struct {
	Wheel  string // the wheel's file name
	Member string // the member concerned, "" for the whole archive
	Reason string
}

func (e *ArchiveError) Error() string {
	if e.Member == "" {
		return e.Wheel + ": " + e.Reason
	}
	return e.Wheel + ": " + e.Member + ": " + e.Reason
}

// named prefixes err with the wheel's file name unless it already carries it.
func named(file string, err error) error {
	var ae *ArchiveError
	if errors.As(err, &ae) {
		return err
	}
	return fmt.Errorf("%s: %w", file, err)
}

// checkSizes refuses an archive whose declared sizes could fill the disk: too much in
// total, or too much for the bytes it takes. The archive's ratio is against its size
// on disk, not the sum of its members' compressed sizes, since members may share their
// compressed bytes (overlapping entries in the central directory).
func checkSizes(file string, zr *zip.Reader, size int64) error {
	var total uint64
	for _, f := range zr.File {
		u, c := f.UncompressedSize64, f.CompressedSize64
		if u == 0 {
			continue
		}
		if c == 0 {
			return &ArchiveError{file, f.Name, fmt.Sprintf("declares %d bytes from no compressed data", u)}
		}
		if u > maxWheelBytes-total { // total ≤ maxWheelBytes: this cannot wrap around
			return &ArchiveError{file, f.Name, fmt.Sprintf("brings the archive's uncompressed size over %d bytes (a zip bomb?)", uint64(maxWheelBytes))}
		}
		total += u
	}
	if size > 0 && total > ratioFloor && total/uint64(size) > maxRatio {
		return &ArchiveError{file, "", fmt.Sprintf("%d bytes expand to %d, %d times (a zip bomb?); the limit is %d times above %d bytes", size, total, total/uint64(size), maxRatio, ratioFloor)}
	}
	return nil
}

// openMember opens a member for reading no more than its declared size: a member that
// inflates beyond it, or ends short of it, is an error naming the wheel and member.
func openMember(file string, zf *zip.File) (io.ReadCloser, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, &ArchiveError{file, zf.Name, err.Error()}
	}
	return &memberReader{rc: rc, declared: int64(zf.UncompressedSize64), file: file, name: zf.Name}, nil
}

type memberReader struct {
	rc       io.ReadCloser
	err      error // sticky: no read after a refusal
	n        int64
	declared int64
	file     string
	name     string
}

func (m *memberReader) Read(p []byte) (int, error) {
	if m.err != nil {
		return 0, m.err
	}
	n, err := m.read(p)
	if err != nil && err != io.EOF {
		m.err = err
	}
	return n, err
}

func (m *memberReader) read(p []byte) (int, error) {
	// Reads stop at the declared size, then ask for one byte more: enough to tell that
	// a member is longer than it said, never a buffer's worth of a bomb. (archive/zip
	// fails a read that crosses the declared size whole, so none may cross it.)
	room := m.declared - m.n
	if room == 0 {
		room = 1
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := m.rc.Read(p)
	m.n += int64(n)
	switch {
	case m.n > m.declared, errors.Is(err, zip.ErrFormat) && m.n == m.declared:
		// archive/zip reports a member longer than declared as ErrFormat itself;
		// counting here does not depend on it.
		return n - int(m.n-m.declared), &ArchiveError{m.file, m.name, fmt.Sprintf("inflates beyond its declared size of %d bytes (a zip bomb?)", m.declared)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return n, &ArchiveError{m.file, m.name, fmt.Sprintf("ends after %d of its declared %d bytes", m.n, m.declared)}
	case err != nil && err != io.EOF:
		return n, &ArchiveError{m.file, m.name, err.Error()}
	}
	return n, err
}

func (m *memberReader) Close() error { return m.rc.Close() }
