package azure_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/pyship/pyship/internal/azure"
	"github.com/pyship/pyship/internal/azure/azuretest"
)

// acrRegistry is a loopback registry that demands ACR's token flow: /v2/ answers 401
// with a Bearer challenge; /oauth2/exchange takes only the Entra token the fake issued
// and gives a refresh token; /oauth2/token trades that for an access token; only that
// access token reaches the registry behind.
type acrRegistry struct {
	srv        *httptest.Server
	aadToken   string
	mu         sync.Mutex
	exchanges  int
	refreshTok string
	accessTok  string
}

func newACRRegistry(t *testing.T, aadToken string) *acrRegistry {
	a := &acrRegistry{aadToken: aadToken, refreshTok: "refresh-" + aadToken, accessTok: "access-" + aadToken}
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oauth2/exchange":
			r.ParseForm()
			a.mu.Lock()
			a.exchanges++
			a.mu.Unlock()
			if r.Form.Get("grant_type") != "access_token" || r.Form.Get("access_token") != a.aadToken || r.Form.Get("service") != r.Host {
				w.WriteHeader(http.StatusUnauthorized)
				json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": "UNAUTHORIZED", "message": "invalid token"}}})
				return
			}
			json.NewEncoder(w).Encode(map[string]string{"refresh_token": a.refreshTok})
			return
		case "/oauth2/token":
			r.ParseForm()
			if r.Form.Get("grant_type") != "refresh_token" || r.Form.Get("refresh_token") != a.refreshTok {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			json.NewEncoder(w).Encode(map[string]string{"access_token": a.accessTok})
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+a.accessTok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="http://`+r.Host+`/oauth2/token",service="`+r.Host+`"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *acrRegistry) host() string { return strings.TrimPrefix(a.srv.URL, "http://") }

// TestACRKeychainPushes: an image is pushed to a registry that takes only ACR's token
// flow, with an Entra token exchanged once for a refresh token; a registry that is not
// ACR's resolves to anonymous (the Docker keychain's turn).
func TestACRKeychainPushes(t *testing.T) {
	f := azuretest.New(t)
	reg := newACRRegistry(t, f.Token)
	k := &azure.ACRKeychain{Cred: f.Credential(t, azuretest.Secret), Scheme: "http", Match: func(h string) bool { return h == reg.host() }}
	ref, err := name.ParseReference(reg.host()+"/shop:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kc := authn.NewMultiKeychain(authn.DefaultKeychain, k)
	if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)); err != nil {
		t.Fatalf("push: %v", err)
	}
	if _, err := remote.Head(ref, remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)); err != nil {
		t.Fatalf("read back: %v", err)
	}
	if reg.exchanges != 1 {
		t.Errorf("%d token exchanges, want 1 (the refresh token is kept)", reg.exchanges)
	}
	other, _ := name.ParseReference("registry.example/shop:v1")
	if a, err := k.Resolve(other.Context()); err != nil || a != authn.Anonymous {
		t.Errorf("another registry: %v, %v", a, err)
	}
	if !azure.IsACR("myregistry.azurecr.io") || azure.IsACR("azurecr.io.evil.example") {
		t.Error("IsACR")
	}
}

// TestACRKeychainRefused: a token the registry does not take, and a credential that
// gets none, are one-line errors with the fix and no token in them.
func TestACRKeychainRefused(t *testing.T) {
	f := azuretest.New(t)
	reg := newACRRegistry(t, "another-tenants-token")
	match := func(h string) bool { return h == reg.host() }
	for _, tc := range []struct {
		name, secret, want string
	}{
		{"registry refuses", "s3cret", "refused the Azure token (401: invalid token)"},
		{"no token", "wrong", "no Azure token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &azure.ACRKeychain{Cred: f.Credential(t, tc.secret), Scheme: "http", Match: match}
			ref, _ := name.ParseReference(reg.host()+"/shop:v1", name.Insecure)
			auth, err := k.Resolve(ref.Context())
			if err != nil {
				t.Fatal(err)
			}
			_, err = auth.Authorization()
			var ae *azure.ACRError
			if !errors.As(err, &ae) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want an ACRError with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), f.Token) || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error holds a secret: %v", err)
			}
		})
	}
}
