package kube

import (
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestNumericUser(t *testing.T) {
	for _, tc := range []struct {
		in       string
		uid, gid int64
		err      bool
	}{
		{in: "10001", uid: 10001, gid: 10001},
		{in: "10001:20", uid: 10001, gid: 20},
		{in: "0", uid: 0, gid: 0}, // root: runAsNonRoot refuses it at the kubelet
		{in: ""},
		{in: "app"},     // a name: left to the image (the kubelet checks runAsNonRoot)
		{in: "app:100"}, // a name with a group: the same
		{in: "10001:staff", uid: 10001, gid: 10001},
		{in: "-1", err: true},
		{in: "-1:5", err: true},
		{in: "5:-1", err: true},
		{in: "-1:staff", err: true},
	} {
		uid, gid, err := NumericUser(tc.in)
		if tc.err {
			if err == nil {
				t.Errorf("NumericUser(%q) = %d, %d; want an error", tc.in, uid, gid)
			}
			continue
		}
		if err != nil || uid != tc.uid || gid != tc.gid {
			t.Errorf("NumericUser(%q) = %d, %d, %v; want %d, %d", tc.in, uid, gid, err, tc.uid, tc.gid)
		}
	}
}

// testRegistry is go-containerregistry's in-process registry on loopback, holding one
// image whose config runs as user.
func testRegistry(t *testing.T, user string) (ref string, img v1.Image) {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	base, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := base.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.User = user
	img, err = mutate.ConfigFile(base, cf)
	if err != nil {
		t.Fatal(err)
	}
	ref = strings.TrimPrefix(srv.URL, "http://") + "/shop:v1"
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	return ref, img
}

func TestRegistryImageUser(t *testing.T) {
	for _, tc := range []struct {
		user     string
		uid, gid int64
	}{{"10001", 10001, 10001}, {"10001:10002", 10001, 10002}, {"app", 0, 0}} {
		ref, _ := testRegistry(t, tc.user)
		uid, gid, err := RegistryImageUser(ctxT(t), ref)
		if err != nil || uid != tc.uid || gid != tc.gid {
			t.Errorf("user %q: RegistryImageUser = %d, %d, %v; want %d, %d", tc.user, uid, gid, err, tc.uid, tc.gid)
		}
	}
	ref, _ := testRegistry(t, "10001")
	if _, _, err := RegistryImageUser(ctxT(t), ref+"-missing"); err == nil {
		t.Error("an image the registry does not have: no error")
	}
	if _, _, err := RegistryImageUser(ctxT(t), "Not A Ref"); err == nil {
		t.Error("a reference that does not parse: no error")
	}
}

func TestResolveImage(t *testing.T) {
	ref, img := testRegistry(t, "10001")
	pinned, id, err := ResolveImage(ctxT(t), ref)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	cn, _ := img.ConfigName()
	if want := strings.TrimSuffix(ref, ":v1") + "@" + d.String(); pinned != want {
		t.Errorf("pinned = %s, want %s (by digest, never a tag)", pinned, want)
	}
	if id != cn.String() {
		t.Errorf("id = %s, want the config digest %s", id, cn)
	}
	if _, _, err := ResolveImage(ctxT(t), ref+"-missing"); err == nil || !strings.HasPrefix(err.Error(), "--image "+ref+"-missing: the registry does not give it: ") {
		t.Errorf("missing image: err = %v", err)
	}
	if _, _, err := ResolveImage(ctxT(t), "Not A Ref"); err == nil || !strings.HasPrefix(err.Error(), `--image "Not A Ref": `) {
		t.Errorf("bad reference: err = %v", err)
	}
}
