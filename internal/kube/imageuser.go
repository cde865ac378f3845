package kube

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// RegistryImage is what a registry says of an image reference.
type RegistryImage struct {
	// Ref is the reference pinned to the manifest digest the registry has for it now
	// (for an index: the manifest of this platform's image, which pods run).
	Ref string
	// ID is the image's config digest: with its other settings, it names revisions.
	ID string
	// UID and GID are the numeric user it runs as (0, 0 for a named user).
	UID, GID int64
}

// Keychain finds the registry credentials InspectImage sends: the user's Docker ones
// unless the command line adds others (cli adds Azure Container Registry's sign-in).
var Keychain authn.Keychain = authn.DefaultKeychain

// InspectImage reads an image's manifest and config from its registry, with the
// user's registry credentials (Keychain), and timeouts on every step.
func InspectImage(ctx context.Context, ref string) (RegistryImage, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return RegistryImage{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	img, err := remote.Image(r, remote.WithContext(ctx), remote.WithAuthFromKeychain(Keychain),
		remote.WithTransport(&http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: 20 * time.Second, TLSHandshakeTimeout: 10 * time.Second}))
	if err != nil {
		return RegistryImage{}, err
	}
	d, err := img.Digest()
	if err != nil {
		return RegistryImage{}, err
	}
	cd, err := img.ConfigName()
	if err != nil {
		return RegistryImage{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return RegistryImage{}, err
	}
	uid, gid, err := NumericUser(cf.Config.User)
	if err != nil {
		return RegistryImage{}, err
	}
	return RegistryImage{Ref: r.Context().Digest(d.String()).String(), ID: cd.String(), UID: uid, GID: gid}, nil
}

// RegistryImageUser reads the numeric user and group an image runs as from its config
// in the registry, so that the pod's runAsUser is the image's own (pyship's images:
// 10001). A named user (USER app) gives 0, 0: the kubelet then checks runAsNonRoot.
func RegistryImageUser(ctx context.Context, ref string) (uid, gid int64, err error) {
	ri, err := InspectImage(ctx, ref)
	return ri.UID, ri.GID, err
}

// NumericUser reads an image config's User, "UID" or "UID:GID"; a name gives 0, 0 and
// no error.
func NumericUser(s string) (uid, gid int64, err error) {
	u, g, _ := strings.Cut(s, ":")
	uid, err = strconv.ParseInt(u, 10, 64)
	if err != nil {
		return 0, 0, nil
	}
	gid = uid // no group, or a named one: the user's own
	if g != "" {
		if n, err := strconv.ParseInt(g, 10, 64); err == nil {
			gid = n
		}
	}
	// Checked on every path: "-1" alone was returned as uid -1.
	if uid < 0 || gid < 0 {
		return 0, 0, fmt.Errorf("user %q: negative id", s)
	}
	return uid, gid, nil
}

// ResolveImage pins a registry reference to the digest the registry has for it now,
// and returns the image's config digest (its ID, which names revisions).
func ResolveImage(ctx context.Context, ref string) (pinnedRef, id string, err error) {
	if _, err := name.ParseReference(ref); err != nil {
		return "", "", fmt.Errorf("--image %q: %w", ref, err)
	}
	ri, err := InspectImage(ctx, ref)
	if err != nil {
		return "", "", fmt.Errorf("--image %s: the registry does not give it: %w", ref, err)
	}
	return ri.Ref, ri.ID, nil
}
