// Command scratchimage packs one static binary into an image FROM scratch and writes it as a
// docker-save tarball (-tar, what `ctr images import` reads) or pushes it to a plain-HTTP registry
// on loopback (-push). cluster-up.sh uses it for the pod sandbox image.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/pyship/pyship/test/k8s/internal/scratchimage"
)

func main() {
	bin := flag.String("bin", "", "the static binary to pack")
	ref := flag.String("ref", "", "the image reference (its tag in the tarball, or where to push)")
	tarPath := flag.String("tar", "", "write a docker-save tarball here")
	push := flag.Bool("push", false, "push to the registry named in -ref (plain HTTP)")
	user := flag.String("user", "", "the image's USER")
	flag.Parse()
	if err := run(*bin, *ref, *tarPath, *push, *user); err != nil {
		fmt.Fprintln(os.Stderr, "scratchimage:", err)
		os.Exit(1)
	}
}

func run(bin, ref, tarPath string, push bool, user string) error {
	if bin == "" || ref == "" || (tarPath == "") == !push {
		return fmt.Errorf("usage: scratchimage -bin FILE -ref REF (-tar FILE | -push) [-user UID:GID]")
	}
	img, err := scratchimage.FromBinary(bin, scratchimage.Options{Name: filepath.Base(bin), User: user})
	if err != nil {
		return err
	}
	if push {
		r, err := name.ParseReference(ref, name.Insecure)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		return remote.Write(r, img, remote.WithContext(ctx))
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(tarPath, tag, img)
}
