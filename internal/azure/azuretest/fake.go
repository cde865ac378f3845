// Package azuretest is a local Azure for tests: Microsoft Entra ID's token endpoint
// and Resource Manager for the resource types pyship writes, checking each request
// against Azure's published API definitions.
package azuretest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/pyship/pyship/internal/azure"
)

// Secret is the client secret the token endpoint takes (tenant "tenant-1", client
// "client-1").
const Secret = "s3cret"

// Azure plays Microsoft Entra ID's token endpoint (for azidentity's client-secret
// credential) and Resource Manager for the resource types pyship writes, from the
// same API definitions: each PUT's path, api-version and body are checked against
// the spec, the body with the same strict schema pyship validates with; a valid PUT
// starts a long-running operation (Azure-AsyncOperation) that reports InProgress once
// and then Succeeded, and the resource then reads back with what Azure adds (its
// address, a Container App's latest revision, a container group's state). Knobs make
// it answer 429 with Retry-After, 409, 404 for a resource group, a validation error
// with details, or a revision that never becomes healthy.
type Azure struct {
	Srv   *httptest.Server
	Token string

	mu sync.Mutex
	// Throttle answers this many PUTs with 429 first.
	Throttle int
	// Conflict answers PUTs with 409; Reject with a 400 with details, as Azure's own
	// validation answers.
	Conflict, Reject bool
	// Unhealthy makes every new Container App revision fail (runningState Failed).
	Unhealthy bool
	// Logs are what each app's container printed, line by line.
	Logs      map[string][]string
	resources map[string][]byte
	revisions map[string][]byte // revision ID → Revision
	ops       map[string]int    // operation → polls so far
	log       []string          // "METHOD path" of each call
	authToken string            // a Container App's log stream token
	roots     *x509.CertPool
}

// New starts the fake; it stops with the test.
func New(t testing.TB) *Azure {
	f := &Azure{Token: "tok-" + strconv.FormatInt(time.Now().UnixNano(), 10), resources: map[string][]byte{},
		revisions: map[string][]byte{}, ops: map[string]int{}, Logs: map[string][]string{}}
	f.authToken = "logs-" + f.Token
	f.Srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	cert, pool := selfSigned(t)
	f.Srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	f.Srv.StartTLS()
	f.roots = pool
	t.Cleanup(f.Srv.Close)
	return f
}

// Hosts are the names the fake answers for, as Azure's public cloud names them: the
// client reaches it for any of them (Options' transport) and its certificate is
// valid for them.
var Hosts = []string{"management.azure.com", "login.microsoftonline.com", "*.azurecontainerapps.dev", "*.scm.azurewebsites.net"}

// selfSigned is a certificate for Hosts and 127.0.0.1, and a pool trusting it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pyship azuretest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true, DNSNames: Hosts, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: c}, pool
}

// Client is an HTTP client that reaches the fake whatever host a URL names (test
// traffic never leaves loopback) and trusts only its certificate.
func (f *Azure) Client() *http.Client {
	addr := f.Srv.Listener.Addr().String()
	var d net.Dialer
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{RootCAs: f.roots}}}
}

// Lock and Unlock guard the knobs while the server runs.
func (f *Azure) Lock()   { f.mu.Lock() }
func (f *Azure) Unlock() { f.mu.Unlock() }

func armError(w http.ResponseWriter, status int, code, msg string, details ...map[string]string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-ms-error-code", code)
	w.WriteHeader(status)
	body := map[string]any{"error": map[string]any{"code": code, "message": msg, "details": details}}
	json.NewEncoder(w).Encode(body)
}

// resourceManagerScope is a token scope for Resource Manager: azcore asks for the
// public cloud's audience (management.core.windows.net), az for management.azure.com;
// Entra ID takes both.
func resourceManagerScope(scope string) bool {
	return strings.Contains(scope, "management.azure.com") || strings.Contains(scope, "management.core.windows.net")
}

// types the fake serves: the path's provider/type → api-version.
var types = map[string]string{
	"Microsoft.App/containerApps":                 azure.ContainerAppAPIVersion,
	"Microsoft.ContainerInstance/containerGroups": azure.ContainerGroupAPIVersion,
	"Microsoft.Web/sites":                         azure.SiteAPIVersion,
}

func (f *Azure) serve(w http.ResponseWriter, r *http.Request) {
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
		if r.Form.Get("client_secret") != Secret || r.Form.Get("grant_type") != "client_credentials" || !resourceManagerScope(r.Form.Get("scope")) {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": f.Token})
		return
	case strings.HasSuffix(r.Host, ".azurecontainerapps.dev"):
		f.logStream(w, r)
		return
	case strings.HasSuffix(r.Host, ".scm.azurewebsites.net"):
		f.siteLogStream(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.Token {
		armError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid.")
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
	// /subscriptions/S/resourceGroups/RG/providers/NS/TYPE/NAME[/...]
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 8 || parts[0] != "subscriptions" || parts[2] != "resourceGroups" || parts[4] != "providers" {
		armError(w, http.StatusNotFound, "InvalidResourceType", "no such path "+r.URL.Path)
		return
	}
	typ := parts[5] + "/" + parts[6]
	apiVersion, ok := types[typ]
	if !ok {
		armError(w, http.StatusNotFound, "InvalidResourceType", "The resource type '"+parts[6]+"' could not be found")
		return
	}
	if v := r.URL.Query().Get("api-version"); v != apiVersion {
		armError(w, http.StatusBadRequest, "InvalidApiVersionParameter", "The api-version '"+v+"' is invalid.")
		return
	}
	if parts[3] == "missing" {
		armError(w, http.StatusNotFound, "ResourceGroupNotFound", "Resource group 'missing' could not be found.")
		return
	}
	id := "/" + strings.Join(parts[:8], "/")
	if len(parts) > 8 {
		f.child(w, r, id, parts[8:])
		return
	}
	switch r.Method {
	case http.MethodGet:
		b, ok := f.resources[id]
		if !ok {
			armError(w, http.StatusNotFound, "ResourceNotFound", "The Resource '"+typ+"/"+parts[7]+"' under resource group '"+parts[3]+"' was not found.")
			return
		}
		if typ == "Microsoft.Web/sites" {
			b = siteAsGot(b)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	case http.MethodPut:
		f.put(w, r, id, typ, parts[7], apiVersion)
	case http.MethodDelete:
		if _, ok := f.resources[id]; !ok {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		delete(f.resources, id)
		f.accepted(w, r, apiVersion)
	default:
		armError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method)
	}
}

// accepted answers 202 with an operation to poll.
func (f *Azure) accepted(w http.ResponseWriter, r *http.Request, apiVersion string) {
	op := fmt.Sprintf("/operations/%d", len(f.ops)+1)
	f.ops[op] = 0
	w.Header().Set("Azure-AsyncOperation", "https://"+r.Host+op+"?api-version="+url.QueryEscape(apiVersion))
	w.Header().Set("Retry-After", "0")
	w.WriteHeader(http.StatusAccepted)
}

func (f *Azure) put(w http.ResponseWriter, r *http.Request, id, typ, name, apiVersion string) {
	if f.Throttle > 0 {
		f.Throttle--
		w.Header().Set("Retry-After", "1")
		armError(w, http.StatusTooManyRequests, "TooManyRequests", "Too many requests.")
		return
	}
	if f.Conflict {
		armError(w, http.StatusConflict, "ContainerAppOperationInProgress", "Cannot modify a container app while a previous operation is in progress.")
		return
	}
	if f.Reject {
		armError(w, http.StatusBadRequest, "ContainerAppInvalidSchema", "Invalid request body.",
			map[string]string{"code": "InvalidParameterValue", "target": "properties.template.containers[0].resources.cpu", "message": "The total requested CPU and memory resources are not a supported combination."})
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := azure.ValidateResource(typ, body); err != nil {
		armError(w, http.StatusBadRequest, "InvalidRequestContent", err.Error())
		return
	}
	var m map[string]any
	json.Unmarshal(body, &m)
	m["id"], m["name"], m["type"] = id, name, typ
	props, _ := m["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
		m["properties"] = props
	}
	f.addAzures(id, typ, name, m, props)
	// The first answer says the work has begun; what a GET reads once the operation
	// ended says it is done.
	props["provisioningState"] = "Succeeded"
	f.resources[id], _ = json.Marshal(m)
	props["provisioningState"] = "InProgress"
	first, _ := json.Marshal(m)
	op := fmt.Sprintf("/operations/%d", len(f.ops)+1)
	f.ops[op] = 0
	w.Header().Set("Azure-AsyncOperation", "https://"+r.Host+op+"?api-version="+url.QueryEscape(apiVersion))
	w.Header().Set("Retry-After", "0")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write(first)
}

// addAzures adds what Azure writes into a resource it made: its address, and for a
// Container App its new revision (named APP--SUFFIX), healthy unless Unhealthy.
func (f *Azure) addAzures(id, typ, name string, m, props map[string]any) {
	switch typ {
	case "Microsoft.App/containerApps":
		suffix := ""
		if tmpl, ok := props["template"].(map[string]any); ok {
			suffix, _ = tmpl["revisionSuffix"].(string)
		}
		rev := name + "--" + suffix
		props["latestRevisionName"], props["latestReadyRevisionName"] = rev, rev
		if cfg, ok := props["configuration"].(map[string]any); ok {
			if ing, ok := cfg["ingress"].(map[string]any); ok {
				ing["fqdn"] = name + ".kindwater-1a2b3c4d.westeurope.azurecontainerapps.io"
			}
		}
		state := map[string]any{"active": true, "healthState": "Healthy", "provisioningState": "Provisioned", "runningState": "Running", "replicas": 1}
		if f.Unhealthy {
			state = map[string]any{"active": true, "healthState": "Unhealthy", "provisioningState": "Provisioned", "runningState": "Failed",
				"provisioningError": "Container '" + name + "' was terminated with exit code '1'"}
		}
		f.revisions[id+"/revisions/"+rev], _ = json.Marshal(map[string]any{"id": id + "/revisions/" + rev, "name": rev, "type": typ + "/revisions", "properties": state})
	case "Microsoft.ContainerInstance/containerGroups":
		if ip, ok := props["ipAddress"].(map[string]any); ok {
			label, _ := ip["dnsNameLabel"].(string)
			ip["fqdn"], ip["ip"] = label+".a1b2c3d4e5.westeurope.azurecontainer.io", "20.50.1.2"
		}
		props["instanceView"] = map[string]any{"state": "Running"}
	case "Microsoft.Web/sites":
		props["defaultHostName"], props["state"] = name+".azurewebsites.net", "Running"
		props["enabledHostNames"] = []string{name + ".azurewebsites.net", name + ".scm.azurewebsites.net"}
		props["hostNameSslStates"] = []map[string]string{{"name": name + ".azurewebsites.net", "hostType": "Standard"}, {"name": name + ".scm.azurewebsites.net", "hostType": "Repository"}}
	}
}

// siteAsGot is a site as Azure's GET returns it: the region as its display name, and
// the configuration's app settings left out (null): they are read apart.
func siteAsGot(b []byte) []byte {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return b
	}
	if loc, ok := m["location"].(string); ok && loc == "westeurope" {
		m["location"] = "West Europe"
	}
	if props, ok := m["properties"].(map[string]any); ok {
		if cfg, ok := props["siteConfig"].(map[string]any); ok {
			cfg["appSettings"] = nil
		}
	}
	out, _ := json.Marshal(m)
	return out
}

// child serves what is under a resource: a Container App's revisions, replicas and
// log stream token, a container's logs.
func (f *Azure) child(w http.ResponseWriter, r *http.Request, id string, rest []string) {
	if _, ok := f.resources[id]; !ok {
		armError(w, http.StatusNotFound, "ResourceNotFound", "no resource "+id)
		return
	}
	name := id[strings.LastIndex(id, "/")+1:]
	switch {
	case r.Method == http.MethodGet && len(rest) == 2 && rest[0] == "revisions":
		b, ok := f.revisions[id+"/revisions/"+rest[1]]
		if !ok {
			armError(w, http.StatusNotFound, "ContainerAppRevisionNotFound", "no revision "+rest[1])
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	case r.Method == http.MethodGet && len(rest) == 3 && rest[0] == "revisions" && rest[2] == "replicas":
		host := "https://westeurope.azurecontainerapps.dev"
		json.NewEncoder(w).Encode(map[string]any{"value": []any{map[string]any{
			"id": id + "/revisions/" + rest[1] + "/replicas/" + rest[1] + "-7d9f", "name": rest[1] + "-7d9f",
			"properties": map[string]any{"runningState": "Running", "containers": []any{map[string]any{
				"name": name, "ready": true, "runningState": "Running",
				"logStreamEndpoint": host + id + "/revisions/" + rest[1] + "/replicas/" + rest[1] + "-7d9f/containers/" + name}}}}}})
	case r.Method == http.MethodGet && len(rest) == 2 && rest[0] == "config" && rest[1] == "web":
		var site struct {
			Properties struct {
				SiteConfig map[string]any `json:"siteConfig"`
			} `json:"properties"`
		}
		json.Unmarshal(f.resources[id], &site)
		cfg := site.Properties.SiteConfig
		if cfg == nil {
			cfg = map[string]any{}
		}
		cfg["appSettings"] = nil // as Azure answers: the settings are listed apart
		cfg["scmType"] = "None"  // and Azure adds its own
		json.NewEncoder(w).Encode(map[string]any{"id": id + "/config/web", "name": "web", "properties": cfg})
	case r.Method == http.MethodPost && len(rest) == 3 && rest[0] == "config" && rest[1] == "appsettings" && rest[2] == "list":
		var site struct {
			Properties struct {
				SiteConfig struct {
					AppSettings []struct{ Name, Value string } `json:"appSettings"`
				} `json:"siteConfig"`
			} `json:"properties"`
		}
		json.Unmarshal(f.resources[id], &site)
		props := map[string]string{}
		for _, kv := range site.Properties.SiteConfig.AppSettings {
			props[kv.Name] = kv.Value
		}
		json.NewEncoder(w).Encode(map[string]any{"id": id + "/config/appsettings", "name": "appsettings", "properties": props})
	case r.Method == http.MethodPost && len(rest) == 1 && rest[0] == "getAuthtoken":
		json.NewEncoder(w).Encode(map[string]any{"properties": map[string]any{"token": f.authToken, "expires": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}})
	case r.Method == http.MethodGet && len(rest) == 3 && rest[0] == "containers" && rest[2] == "logs":
		lines := f.Logs[name]
		if n, err := strconv.Atoi(r.URL.Query().Get("tail")); err == nil && n < len(lines) {
			lines = lines[len(lines)-n:]
		}
		content := ""
		for _, l := range lines {
			content += l + "\n"
		}
		json.NewEncoder(w).Encode(map[string]string{"content": content})
	default:
		armError(w, http.StatusNotFound, "NotFound", r.Method+" "+r.URL.Path)
	}
}

// logStream is a Container App's log stream endpoint: the app's lines, each with
// Azure's timestamp, to the bearer of the app's auth token.
func (f *Azure) logStream(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+f.authToken {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 8 {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	lines := f.Logs[parts[7]]
	if n, err := strconv.Atoi(r.URL.Query().Get("tailLines")); err == nil && n < len(lines) {
		lines = lines[len(lines)-n:]
	}
	w.Header().Set("Content-Type", "text/plain")
	for i, l := range lines {
		fmt.Fprintf(w, "%s %s\n", time.Date(2026, 12, 2, 10, 0, i, 0, time.UTC).Format(time.RFC3339Nano), l)
	}
}

// siteLogStream is App Service's log stream (Kudu): the app's lines after Kudu's
// greeting, to the bearer of a Resource Manager token; then it stays open, as Kudu's
// does, until the client leaves.
func (f *Azure) siteLogStream(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/logstream" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.Token {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	name, _, _ := strings.Cut(r.Host, ".")
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "%s  Welcome, you are now connected to log-streaming service.\n", time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC).Format(time.RFC3339))
	for i, l := range f.Logs[name] {
		fmt.Fprintf(w, "%s %s\n", time.Date(2026, 12, 2, 10, 0, i+1, 0, time.UTC).Format(time.RFC3339), l)
	}
	w.(http.Flusher).Flush()
	f.mu.Unlock()
	<-r.Context().Done()
	f.mu.Lock()
}

// Options are azcore client options for Azure's public cloud that reach the fake
// (Client), with quick retries.
func (f *Azure) Options() azcore.ClientOptions {
	return azcore.ClientOptions{Transport: f.Client(),
		Retry: policy.RetryOptions{MaxRetries: 3, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 2 * time.Second}}
}

// Credential is azidentity's client-secret credential against the fake's token
// endpoint.
func (f *Azure) Credential(t testing.TB, secret string) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential("tenant-1", "client-1", secret, &azidentity.ClientSecretCredentialOptions{ClientOptions: f.Options(), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// ARM is an ARM client with the client-secret credential, both pointed at the fake.
func (f *Azure) ARM(t testing.TB, secret string) *azure.ARM {
	t.Helper()
	a, err := azure.NewARM(f.Credential(t, secret), &arm.ClientOptions{ClientOptions: f.Options()})
	if err != nil {
		t.Fatal(err)
	}
	a.Poll = 10 * time.Millisecond
	return a
}

// Calls are "METHOD path" of each request so far.
func (f *Azure) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

// Resource is the resource at id as a GET reads it (nil: none).
func (f *Azure) Resource(id string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.resources[id]
}
