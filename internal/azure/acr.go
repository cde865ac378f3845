package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/google/go-containerregistry/pkg/authn"
)

// acrUser is the user name ACR expects beside a refresh token (az acr login's).
const acrUser = "00000000-0000-0000-0000-000000000000"

// acrSuffixes are the registry host suffixes of Azure Container Registry in Azure's
// public and sovereign clouds.
var acrSuffixes = []string{".azurecr.io", ".azurecr.cn", ".azurecr.us"}

// ACRKeychain authenticates to Azure Container Registry the way az acr login does,
// for a user who has no Docker credential for the registry: an Entra ID access token
// from the credential (azidentity's DefaultAzureCredential unless one is given:
// environment, workload identity, managed identity, Azure CLI) is exchanged at the
// registry's /oauth2/exchange for a refresh token, which go-containerregistry then
// trades at /oauth2/token for an access token scoped to each repository and action.
// Registries that are not ACR's resolve to anonymous, so that it can follow the
// user's Docker keychain in an authn.MultiKeychain.
type ACRKeychain struct {
	Cred azcore.TokenCredential
	// Scope of the Entra ID token (default Resource Manager's, which ACR accepts as
	// az acr login sends it).
	Scope string
	// Match says whether a registry host is ACR's (default: the ACR suffixes).
	Match func(host string) bool
	// Scheme of the exchange endpoint (default https; tests use http on loopback).
	Scheme string
	// Client makes the exchange (default: 30 s timeout).
	Client *http.Client

	once    sync.Once
	credErr error
	mu      sync.Mutex
	tokens  map[string]acrToken // registry → refresh token
}

type acrToken struct {
	refresh string
	until   time.Time
}

var _ authn.ContextKeychain = (*ACRKeychain)(nil)

// IsACR is whether host is an Azure Container Registry.
func IsACR(host string) bool {
	host = strings.ToLower(host)
	for _, s := range acrSuffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// Resolve implements authn.Keychain.
func (k *ACRKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), r)
}

// ResolveContext implements authn.ContextKeychain.
func (k *ACRKeychain) ResolveContext(ctx context.Context, r authn.Resource) (authn.Authenticator, error) {
	host := r.RegistryStr()
	match := k.Match
	if match == nil {
		match = IsACR
	}
	if !match(host) {
		return authn.Anonymous, nil
	}
	return &acrAuth{k: k, host: host}, nil
}

type acrAuth struct {
	k    *ACRKeychain
	host string
}

func (a *acrAuth) Authorization() (*authn.AuthConfig, error) {
	return a.AuthorizationContext(context.Background())
}

func (a *acrAuth) AuthorizationContext(ctx context.Context) (*authn.AuthConfig, error) {
	refresh, err := a.k.refreshToken(ctx, a.host)
	if err != nil {
		return nil, err
	}
	return &authn.AuthConfig{Username: acrUser, IdentityToken: refresh}, nil
}

// ACRError is a failed sign-in to a registry, said with the fix; it never holds a
// token.
type ACRError struct{ Msg string }

func (e *ACRError) Error() string { return e.Msg }

func (k *ACRKeychain) refreshToken(ctx context.Context, host string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if t, ok := k.tokens[host]; ok && time.Now().Before(t.until) {
		return t.refresh, nil
	}
	k.once.Do(func() {
		if k.Cred == nil {
			k.Cred, k.credErr = azidentity.NewDefaultAzureCredential(nil)
		}
	})
	if k.credErr != nil {
		return "", &ACRError{fmt.Sprintf("%s is an Azure Container Registry and there is no Docker credential for it; signing in with Azure failed: %v (az login, or docker login %s)", host, k.credErr, host)}
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	scope := k.Scope
	if scope == "" {
		scope = "https://management.azure.com/.default"
	}
	tok, err := k.Cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return "", &ACRError{fmt.Sprintf("%s is an Azure Container Registry and there is no Docker credential for it; no Azure token: %s (az login, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or docker login %s)", host, firstLineOf(err.Error()), host)}
	}
	scheme := k.Scheme
	if scheme == "" {
		scheme = "https"
	}
	form := url.Values{"grant_type": {"access_token"}, "service": {host}, "access_token": {tok.Token}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, scheme+"://"+host+"/oauth2/exchange", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	client := k.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", &ACRError{fmt.Sprintf("exchanging an Azure token at %s: %v", host, errors.Unwrap(err))}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Errors []struct{ Message string } `json:"errors"`
		}
		json.Unmarshal(body, &e)
		why := http.StatusText(resp.StatusCode)
		if len(e.Errors) > 0 && e.Errors[0].Message != "" {
			why = e.Errors[0].Message
		}
		fix := "check that the identity has AcrPush (or AcrPull) on the registry"
		if resp.StatusCode == http.StatusUnauthorized {
			fix = "the token is for another tenant, or the registry's admin disabled Entra sign-in: az acr login -n " + strings.SplitN(host, ".", 2)[0]
		}
		return "", &ACRError{fmt.Sprintf("%s refused the Azure token (%d: %s): %s", host, resp.StatusCode, why, fix)}
	}
	var out struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.RefreshToken == "" {
		return "", &ACRError{fmt.Sprintf("%s answered the token exchange without a refresh token", host)}
	}
	if k.tokens == nil {
		k.tokens = map[string]acrToken{}
	}
	// ACR's refresh tokens last 3 hours; a fresh one well before then.
	k.tokens[host] = acrToken{out.RefreshToken, time.Now().Add(time.Hour)}
	return out.RefreshToken, nil
}
