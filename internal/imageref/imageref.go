// Package imageref normalises the image names users type, with the rules docker itself
// uses (github.com/distribution/reference): "myapp" is "myapp:latest", "Docker.io/x" is
// refused for its capital, and a name that fails is said once, with the reason.
package imageref

import (
	"fmt"

	"github.com/distribution/reference"
)

// Tag is a name the image is given (build -t): NAME[:TAG], never a digest. The result
// always carries a tag, since the engine's load refuses an untagged name.
func Tag(s string) (string, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return "", fmt.Errorf("image name %q: %w", s, err)
	}
	if _, ok := named.(reference.Digested); ok {
		return "", fmt.Errorf("image name %q: a digest cannot be given to a new image; use NAME[:TAG]", s)
	}
	return reference.FamiliarString(reference.TagNameOnly(named)), nil
}

// Ref is an image to read (run, deploy --image, check --image): NAME[:TAG][@DIGEST],
// with :latest added when neither is given, as docker pull does.
func Ref(s string) (string, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", s, err)
	}
	return reference.FamiliarString(reference.TagNameOnly(named)), nil
}
