package platform

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/moby/sys/user"
)

// LabelProbe marks the containers pyship creates, and never starts, to read files of an
// image (engine.ImageFiles); Reconcile removes any that a killed command left.
const LabelProbe = "pyship.probe"

// removeStaleProbes removes the probe containers killed commands left. One younger than
// a minute may be another command's, still in use.
func (d *dockerRuntime) removeStaleProbes(ctx context.Context) error {
	probes, err := d.engine.List(ctx, LabelState+"="+d.stateID, LabelProbe)
	if err != nil {
		return err
	}
	for _, c := range probes {
		if time.Since(c.Created) > time.Minute {
			d.engine.Remove(ctx, c.ID)
		}
	}
	return nil
}

// maxUserDB bounds the /etc/passwd and /etc/group read from an image (untrusted input).
const maxUserDB = 1 << 20

// ImageUserError is an image whose USER does not resolve to a uid: the user or group
// it names is not in the image's /etc/passwd or /etc/group. The engine would refuse to
// start the image the same way.
type ImageUserError struct {
	Image, User string
	Err         error
}

func (e *ImageUserError) Error() string {
	return fmt.Sprintf("image %s runs as USER %q, which its /etc/passwd and /etc/group do not resolve to a uid: %v", shortImage(e.Image), e.User, e.Err)
}

func (e *ImageUserError) Unwrap() error { return e.Err }

// imageUser resolves an image's USER to the uid and gid its processes run as, so that
// the secret files can belong to that uid alone. A numeric USER needs nothing more. A
// name is looked up in the image's own /etc/passwd and /etc/group, read without running
// the image (engine.ImageFiles), and resolved by the library runc itself uses to pick
// the container's uid (github.com/moby/sys/user): the same answer the engine will get.
func (d *dockerRuntime) imageUser(ctx context.Context, image, spec string) (uid, gid int, err error) {
	if numericUser(spec) {
		return resolveUser(spec, nil, nil)
	}
	files, err := d.engine.ImageFiles(ctx, image, []string{"/etc/passwd", "/etc/group"}, maxUserDB,
		map[string]string{LabelState: d.stateID, LabelProbe: "1"})
	if err != nil {
		return 0, 0, err
	}
	uid, gid, err = resolveUser(spec, files["/etc/passwd"], files["/etc/group"])
	if err != nil {
		return 0, 0, &ImageUserError{Image: image, User: spec, Err: err}
	}
	return uid, gid, nil
}

// numericUser: "", "UID" or "UID:GID" (no lookup needed; an absent group is gid 0, as
// runc does for a uid without a passwd entry — the secret files are 0400 anyway).
func numericUser(spec string) bool {
	u, g, _ := strings.Cut(spec, ":")
	isNum := func(s string) bool { _, err := strconv.Atoi(s); return s == "" || err == nil }
	return isNum(u) && isNum(g)
}

// resolveUser resolves spec with the given passwd and group contents (nil: absent).
func resolveUser(spec string, passwd, group []byte) (uid, gid int, err error) {
	var pr, gr io.Reader
	if passwd != nil {
		pr = bytes.NewReader(passwd)
	}
	if group != nil {
		gr = bytes.NewReader(group)
	}
	u, err := user.GetExecUser(spec, &user.ExecUser{Uid: 0, Gid: 0, Home: "/"}, pr, gr)
	if err != nil {
		return 0, 0, err
	}
	// The kernel's ids are 32-bit and (uid_t)-1 means "unchanged" to chown.
	if u.Uid < 0 || u.Gid < 0 || int64(u.Uid) >= 1<<32-1 || int64(u.Gid) >= 1<<32-1 {
		return 0, 0, fmt.Errorf("uid %d / gid %d is out of range", u.Uid, u.Gid)
	}
	return u.Uid, u.Gid, nil
}
