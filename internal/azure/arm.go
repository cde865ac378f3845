package azure

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
)

// Resource is one Azure Resource Manager resource pyship creates or updates.
type Resource struct {
	// ID is its resource ID: /subscriptions/SUB/resourceGroups/RG/providers/NS/TYPE/NAME.
	ID         string
	APIVersion string
	Body       []byte // the PUT body, already checked against Azure's definition
	What       string // for messages: "Container App shop"
}

// ARM applies resources through Resource Manager's REST API with azcore's ARM
// pipeline: the credential's bearer token, retries that honour Retry-After (429 and
// 5xx), and long-running operations followed to their end (Azure-AsyncOperation or
// Location polling).
type ARM struct {
	pl       runtime.Pipeline
	endpoint string
	// transport is the options' (nil: Go's), for the calls outside Resource Manager
	// (a Container App's log stream).
	transport policy.Transporter
	// Poll is how often a long-running operation is asked about when Azure does not
	// say (Retry-After); default 5 s.
	Poll time.Duration
	// Timeout bounds one PUT and its operation (default 20 minutes: a Container App's
	// first revision pulls its image and starts it).
	Timeout time.Duration
}

// NewARM is an ARM client for cred; opts choose the cloud (Azure public by default),
// the transport and retry policy.
func NewARM(cred azcore.TokenCredential, opts *arm.ClientOptions) (*ARM, error) {
	c, err := arm.NewClient("pyship", "v1.0.0", cred, opts)
	if err != nil {
		return nil, err
	}
	a := &ARM{pl: c.Pipeline(), endpoint: c.Endpoint()}
	if opts != nil {
		a.transport = opts.Transport
	}
	return a, nil
}

// do sends one request for a resource: its api-version (and extra query parameters)
// in the URL, body as JSON when there is one. A failure to get an answer is explained;
// any answer is the caller's to judge.
func (a *ARM) do(ctx context.Context, method string, r Resource, extra url.Values, body []byte) (*http.Response, error) {
	req, err := runtime.NewRequest(ctx, method, runtime.JoinPaths(a.endpoint, r.ID))
	if err != nil {
		return nil, err
	}
	q := req.Raw().URL.Query()
	for k, v := range extra {
		q[k] = v
	}
	q.Set("api-version", r.APIVersion)
	req.Raw().URL.RawQuery = q.Encode()
	req.Raw().Header.Set("Accept", "application/json")
	if body != nil {
		if err := req.SetBody(streaming.NopCloser(bytes.NewReader(body)), "application/json"); err != nil {
			return nil, err
		}
	}
	resp, err := a.pl.Do(req)
	if err != nil {
		return nil, a.explain(ctx, r, err)
	}
	return resp, nil
}

// operation bounds a call that starts a long-running operation (default 20 minutes:
// a Container App's first revision pulls its image and starts it).
func (a *ARM) operation(ctx context.Context) (context.Context, context.CancelFunc) {
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Minute
	}
	return context.WithTimeout(ctx, timeout)
}

// await follows the long-running operation resp started (Azure-AsyncOperation or
// Location polling) to its end, and returns the resource as Azure then has it.
func (a *ARM) await(ctx context.Context, r Resource, resp *http.Response) (json.RawMessage, error) {
	poller, err := runtime.NewPoller[json.RawMessage](resp, a.pl, nil)
	if err != nil {
		return nil, err
	}
	poll := a.Poll
	if poll <= 0 {
		poll = 5 * time.Second
	}
	out, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: poll})
	if err != nil {
		return nil, a.explain(ctx, r, err)
	}
	return out, nil
}

// Put creates or updates r, waits until Azure has provisioned it, and returns the
// resource as Azure then has it (its fqdn, its latest revision).
func (a *ARM) Put(ctx context.Context, r Resource) (json.RawMessage, error) {
	if !strings.HasPrefix(r.ID, "/subscriptions/") {
		return nil, &InputError{fmt.Sprintf("%q is not a resource ID", r.ID)}
	}
	ctx, cancel := a.operation(ctx)
	defer cancel()
	resp, err := a.do(ctx, http.MethodPut, r, nil, r.Body)
	if err != nil {
		return nil, err
	}
	if !runtime.HasStatusCode(resp, http.StatusOK, http.StatusCreated, http.StatusAccepted) {
		return nil, a.explain(ctx, r, runtime.NewResponseError(resp))
	}
	return a.await(ctx, r, resp)
}

// Get reads a resource: nil when it does not exist.
func (a *ARM) Get(ctx context.Context, id, apiVersion string) (json.RawMessage, error) {
	return a.get(ctx, id, apiVersion, nil)
}

// get is Get with more query parameters (a container's logs: tail).
func (a *ARM) get(ctx context.Context, id, apiVersion string, extra url.Values) (json.RawMessage, error) {
	return a.read(ctx, http.MethodGet, Resource{ID: id, APIVersion: apiVersion, What: id}, extra, 8<<20, true)
}

// Post calls a resource's action (getAuthtoken, config/appsettings/list) and returns
// Azure's answer.
func (a *ARM) Post(ctx context.Context, id, apiVersion string) (json.RawMessage, error) {
	return a.read(ctx, http.MethodPost, Resource{ID: id, APIVersion: apiVersion, What: id}, nil, 1<<20, false)
}

// read is a call whose answer is a document of at most limit bytes; a 404 is nil, nil
// when missingOK (a GET: the resource does not exist), else Azure's refusal.
func (a *ARM) read(ctx context.Context, method string, r Resource, extra url.Values, limit int64, missingOK bool) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	resp, err := a.do(ctx, method, r, extra, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return io.ReadAll(io.LimitReader(resp.Body, limit))
	case http.StatusNotFound:
		if missingOK {
			return nil, nil
		}
	}
	return nil, a.explain(ctx, r, runtime.NewResponseError(resp))
}

// Delete removes a resource and waits until Azure has; one already gone is not an
// error (it reports false).
func (a *ARM) Delete(ctx context.Context, r Resource) (bool, error) {
	ctx, cancel := a.operation(ctx)
	defer cancel()
	resp, err := a.do(ctx, http.MethodDelete, r, nil, nil)
	if err != nil {
		return false, err
	}
	switch resp.StatusCode {
	case http.StatusNoContent, http.StatusNotFound:
		resp.Body.Close()
		return false, nil
	case http.StatusOK:
		resp.Body.Close()
		return true, nil
	case http.StatusAccepted:
		_, err := a.await(ctx, r, resp)
		return err == nil, err
	}
	return false, a.explain(ctx, r, runtime.NewResponseError(resp))
}

// ARMError is what Resource Manager refused, said in one line with the fix.
type ARMError struct {
	Status int    // HTTP status (0: no answer)
	Code   string // Azure's error code
	Msg    string
}

func (e *ARMError) Error() string { return e.Msg }

// armBody is Resource Manager's error body (common-types ErrorResponse).
type armBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Target  string `json:"target"`
		Details []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Target  string `json:"target"`
		} `json:"details"`
	} `json:"error"`
}

// explain turns a failed call into an ARMError naming the resource, what Azure said
// and what to do.
func (a *ARM) explain(ctx context.Context, r Resource, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return &ARMError{Msg: fmt.Sprintf("%s: Azure did not finish within the deploy's time (%v); it may still be provisioning: look in the portal, or deploy again", r.What, ctx.Err())}
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		// azidentity's errors (a credential that failed, or that is not available
		// here) are the ones marked NonRetriable.
		var credErr interface{ NonRetriable() }
		if errors.As(err, &credErr) {
			return &ARMError{Msg: fmt.Sprintf("cannot get a token for Azure Resource Manager: %v (az login, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or run with a managed identity)", firstLineOf(err.Error()))}
		}
		return &ARMError{Msg: fmt.Sprintf("%s: cannot reach Azure Resource Manager: %v", r.What, err)}
	}
	var body armBody
	if re.RawResponse != nil {
		// Payload reads the body once and keeps it (NewResponseError read it too).
		if b, err := runtime.Payload(re.RawResponse); err == nil {
			json.Unmarshal(b, &body)
		}
	}
	code, msg := re.ErrorCode, body.Error.Message
	if code == "" {
		code = body.Error.Code
	}
	if msg == "" {
		msg = http.StatusText(re.StatusCode)
	}
	var details []string
	for _, d := range body.Error.Details {
		s := d.Message
		if d.Target != "" {
			s = d.Target + ": " + s
		}
		details = append(details, s)
	}
	said := fmt.Sprintf("%s (%d %s)", msg, re.StatusCode, code)
	if len(details) > 0 {
		said += ": " + strings.Join(details, "; ")
	}
	sub, rg := idPart(r.ID, "subscriptions"), idPart(r.ID, "resourceGroups")
	var fix string
	switch {
	case re.StatusCode == http.StatusUnauthorized:
		fix = "the credentials are expired or for another tenant: az login again (or check AZURE_TENANT_ID)"
	case re.StatusCode == http.StatusForbidden:
		fix = fmt.Sprintf("the identity may not write it: grant it Contributor on resource group %s (az role assignment create --role Contributor --scope /subscriptions/%s/resourceGroups/%s --assignee ...)", rg, sub, rg)
	case code == "ResourceGroupNotFound":
		fix = fmt.Sprintf("create it first: az group create --name %s --location LOCATION --subscription %s", rg, sub)
	case code == "SubscriptionNotFound" || code == "InvalidSubscriptionId":
		fix = "check --subscription (az account list -o table)"
	case re.StatusCode == http.StatusConflict:
		fix = "another operation is changing it: wait for it to finish, then deploy again"
	case re.StatusCode == http.StatusTooManyRequests:
		fix = "Azure throttled the requests even after waiting as it asked: deploy again in a minute"
	case re.StatusCode == http.StatusBadRequest:
		fix = "Azure refused the document: fix the setting it names (the document passed Azure's published schema, so this is a rule the schema does not state)"
	}
	m := fmt.Sprintf("%s: Azure refused it: %s", r.What, said)
	if fix != "" {
		m += "; " + fix
	}
	return &ARMError{Status: re.StatusCode, Code: code, Msg: m}
}

// idPart is the segment after key in a resource ID ("" if none).
func idPart(id, key string) string {
	parts := strings.Split(id, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], key) {
			return parts[i+1]
		}
	}
	return ""
}

func firstLineOf(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}
