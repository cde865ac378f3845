package azure

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// fakeAzure plays Microsoft Entra ID's token endpoint (for azidentity's client-secret
// credential) and Resource Manager for the resource types pyship writes, from the same
// API definitions: each PUT's path, api-version and body are checked against the
// spec, the body with the same strict schema pyship validates with; a valid PUT starts
// a long-running operation (Azure-AsyncOperation) that reports InProgress once and
// then Succeeded. Knobs make it answer 429 with Retry-After, 409, 404 for a resource
// group, or a validation error with details.
type fakeAzure struct {
	srv   *httptest.Server
	token string

	mu        sync.Mutex
	throttle  int // answer this many PUTs with 429 first
	conflict  bool
	reject    bool // a 400 with details, as Azure's own validation answers
	resources map[string][]byte
	ops       map[string]int // operation → polls so far
	log       []string       // "METHOD path" of each call
}

// specs of the types the fake serves: the path's provider/type → definition and api-version.
var fakeTypes = map[string]struct {
	def        definition
	apiVersion string
}{
	"Microsoft.App/containerApps":                 {ContainerApp, ContainerAppAPIVersion},
	"Microsoft.ContainerInstance/containerGroups": {ContainerGroup, ContainerGroupAPIVersion},
	"Microsoft.Web/sites":                         {Site, SiteAPIVersion},
}

func newFakeAzure(t *testing.T) *fakeAzure {
	f := &fakeAzure{token: "tok-" + fmt.Sprint(time.Now().UnixNano()), resources: map[string][]byte{}, ops: map[string]int{}}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAzure) armError(w http.ResponseWriter, status int, code, msg string, details ...map[string]string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-ms-error-code", code)
	w.WriteHeader(status)
	body := map[string]any{"error": map[string]any{"code": code, "message": msg, "details": details}}
	json.NewEncoder(w).Encode(body)
}

func (f *fakeAzure) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, r.Method+" "+r.URL.Path)
	switch {
	case strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
		tenant := strings.Split(strings.Trim(r.URL.Path, "/"), "/")[0]
		base := "https://" + r.Host + "/" + tenant
		json.NewEncoder(w).Encode(map[string]string{"token_endpoint": base + "/oauth2/v2.0/token",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize", "issuer": base + "/v2.0"})
		return
	case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
		r.ParseForm()
		if r.Form.Get("client_secret") != "s3cret" || r.Form.Get("grant_type") != "client_credentials" || !strings.Contains(r.Form.Get("scope"), "management.azure.com") {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": f.token})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		f.armError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid.")
		return
	}
	if strings.HasPrefix(r.URL.Path, "/operations/") {
		f.ops[r.URL.Path]++
		status := "InProgress"
		if f.ops[r.URL.Path] > 1 {
			status = "Succeeded"
		}
		w.Header().Set("Retry-After", "0")
		json.NewEncoder(w).Encode(map[string]string{"status": status})
		return
	}
	// /subscriptions/S/resourceGroups/RG/providers/NS/TYPE/NAME
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 8 || parts[0] != "subscriptions" || parts[2] != "resourceGroups" || parts[4] != "providers" {
		f.armError(w, http.StatusNotFound, "InvalidResourceType", "no such path "+r.URL.Path)
		return
	}
	typ, ok := fakeTypes[parts[5]+"/"+parts[6]]
	if !ok {
		f.armError(w, http.StatusNotFound, "InvalidResourceType", "The resource type '"+parts[6]+"' could not be found")
		return
	}
	if v := r.URL.Query().Get("api-version"); v != typ.apiVersion {
		f.armError(w, http.StatusBadRequest, "InvalidApiVersionParameter", "The api-version '"+v+"' is invalid.")
		return
	}
	if parts[3] == "missing" {
		f.armError(w, http.StatusNotFound, "ResourceGroupNotFound", "Resource group 'missing' could not be found.")
		return
	}
	switch r.Method {
	case http.MethodGet:
		b, ok := f.resources[r.URL.Path]
		if !ok {
			f.armError(w, http.StatusNotFound, "ResourceNotFound", "not found")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	case http.MethodPut:
		if f.throttle > 0 {
			f.throttle--
			w.Header().Set("Retry-After", "1")
			f.armError(w, http.StatusTooManyRequests, "TooManyRequests", "Too many requests.")
			return
		}
		if f.conflict {
			f.armError(w, http.StatusConflict, "ContainerAppOperationInProgress", "Cannot modify a container app while a previous operation is in progress.")
			return
		}
		if f.reject {
			f.armError(w, http.StatusBadRequest, "ContainerAppInvalidSchema", "Invalid request body.",
				map[string]string{"code": "InvalidParameterValue", "target": "properties.template.containers[0].resources.cpu", "message": "The total requested CPU and memory resources are not a supported combination."})
			return
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err := validate(typ.def, "the request", body); err != nil {
			f.armError(w, http.StatusBadRequest, "InvalidRequestContent", err.Error())
			return
		}
		var m map[string]any
		json.Unmarshal(body, &m)
		m["id"], m["name"], m["type"] = r.URL.Path, parts[7], parts[5]+"/"+parts[6]
		props, _ := m["properties"].(map[string]any)
		if props == nil {
			props = map[string]any{}
			m["properties"] = props
		}
		// The first answer says the work has begun; what a GET reads once the
		// operation ended says it is done.
		props["provisioningState"] = "Succeeded"
		f.resources[r.URL.Path], _ = json.Marshal(m)
		props["provisioningState"] = "InProgress"
		first, _ := json.Marshal(m)
		op := fmt.Sprintf("/operations/%d", len(f.ops)+1)
		f.ops[op] = 0
		w.Header().Set("Azure-AsyncOperation", "https://"+r.Host+op+"?api-version="+url.QueryEscape(typ.apiVersion))
		w.Header().Set("Retry-After", "0")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write(first)
	default:
		f.armError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method)
	}
}

// client is an ARM client with azidentity's client-secret credential, both pointed
// at the fake (its TLS certificate trusted through its client's transport).
func (f *fakeAzure) client(t *testing.T, secret string) *ARM {
	t.Helper()
	copts := azcore.ClientOptions{Transport: f.srv.Client(),
		Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: f.srv.URL + "/",
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: {Endpoint: f.srv.URL, Audience: "https://management.azure.com"}}},
		Retry: policy.RetryOptions{MaxRetries: 3, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 2 * time.Second}}
	cred, err := azidentity.NewClientSecretCredential("tenant-1", "client-1", secret, &azidentity.ClientSecretCredentialOptions{ClientOptions: copts, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewARM(cred, &arm.ClientOptions{ClientOptions: copts})
	if err != nil {
		t.Fatal(err)
	}
	a.Poll = 10 * time.Millisecond
	return a
}

func (f *fakeAzure) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}
