package azure

import (
	"fmt"
	"sort"
	"strings"
)

// check refuses what no Azure document can be made from, whatever the service (what
// names the document in messages: "a Container App"). Each service checks its own
// needs after this.
func (in AppInput) check(what string) error {
	switch {
	case in.Location == "":
		return &InputError{what + " needs a location (--location, an Azure region such as westeurope)"}
	case !digestRef.MatchString(in.Image):
		return &InputError{fmt.Sprintf("image %q is not pinned by digest (REGISTRY/REPO@sha256:DIGEST): Azure must never run a moving tag", in.Image)}
	case in.Port < 1 || in.Port > 65535:
		return &InputError{fmt.Sprintf("port %d is not a TCP port", in.Port)}
	case in.Identity != "" && !resourceID.MatchString(in.Identity):
		return &InputError{fmt.Sprintf("identity %q is not a user-assigned identity's resource ID (/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/NAME)", in.Identity)}
	}
	return nil
}

// noVault is the refusal of secrets without a Key Vault to read them from.
func (in AppInput) noVault(what string) error {
	return &InputError{fmt.Sprintf("the app has secrets (%s) and %s document never holds their values: give --key-vault https://VAULT.vault.azure.net, where each is a secret of the same name in lower case with dashes (%s)", strings.Join(in.Secrets, ", "), what, SecretName(in.Secrets[0]))}
}

// registry is the image's registry host, and whether it is an Azure Container Registry
// (pulled with a managed identity, never a password).
func (in AppInput) registry() (string, bool) {
	host, _, _ := strings.Cut(in.Image, "/")
	return host, IsACR(host)
}

// sortedEnv is the app's settings in name order, and sortedSecrets its secret names:
// the documents list them so, for the same bytes every time.
func (in AppInput) sortedEnv() []string {
	keys := make([]string, 0, len(in.Env))
	for k := range in.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (in AppInput) sortedSecrets() []string {
	s := append([]string(nil), in.Secrets...)
	sort.Strings(s)
	return s
}

// header is the first line of every file render writes for Azure: the mark
// RenderedApp reads back ("# pyship render --target aca: Container App shop (…)").
func header(target, kind, name, apiVersion string) string {
	return fmt.Sprintf("# %s: %s %s (%s).\n", generator(target), kind, name, apiVersion)
}

// generator names render for target, in headers and in templates' metadata.
func generator(target string) string { return "pyship render --target " + target }
