package cli

import (
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/pyship/pyship/internal/azure"
	"github.com/pyship/pyship/internal/base"
	"github.com/pyship/pyship/internal/kube"
	"github.com/pyship/pyship/internal/publish"
)

// A push to, a base image from, or render's read of an Azure Container Registry with no Docker credential for it signs in
// with Azure, as az acr login would (azure.ACRKeychain: the Entra ID token of the
// environment, workload or managed identity, or the Azure CLI, exchanged at the
// registry). The user's Docker credentials come first; other registries are not
// affected.
func init() {
	kc := authn.NewMultiKeychain(authn.DefaultKeychain, &azure.ACRKeychain{})
	publish.Keychain, kube.Keychain, base.Keychain = kc, kc, kc
}
