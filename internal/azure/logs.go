package azure

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// LogOptions choose which of an app's console lines Logs copies.
type LogOptions struct {
	Follow   bool
	Tail     int    // the last N lines per replica (0: what the service keeps, up to its limit)
	Revision string // a Container App revision (default the latest)
	// Poll is how often Container Instances' logs are read again with Follow (they
	// have no stream; default 5 s).
	Poll time.Duration
}

// scmHost is the site's SCM (Kudu) host, where its log stream is: the host name Azure
// marks as the Repository one. The Resource Manager token goes there, so a custom
// domain that merely contains ".scm." is never taken for it.
func scmHost(site []byte) string {
	var s struct {
		Properties struct {
			HostNameSslStates []struct {
				Name     string `json:"name"`
				HostType string `json:"hostType"`
			} `json:"hostNameSslStates"`
			EnabledHostNames []string `json:"enabledHostNames"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(site, &s)
	for _, h := range s.Properties.HostNameSslStates {
		if strings.EqualFold(h.HostType, "Repository") && h.Name != "" {
			return h.Name
		}
	}
	for _, h := range s.Properties.EnabledHostNames {
		for _, suffix := range []string{".scm.azurewebsites.net", ".scm.chinacloudsites.cn", ".scm.azurewebsites.us"} {
			if strings.HasSuffix(strings.ToLower(h), suffix) {
				return h
			}
		}
	}
	return ""
}

// LogLine is one line of an app's output as Azure gives it.
type LogLine struct {
	Time     string `json:"time,omitempty"` // as the service stamped it (Container Apps, App Service)
	Replica  string `json:"replica,omitempty"`
	Revision string `json:"revision,omitempty"`
	Message  string `json:"message"`
}

// maxLogLine bounds one line read from Azure.
const maxLogLine = 1 << 20

// Logs copies the app's console output to emit, line by line, from the service's own
// log API: a Container App's log stream (each replica of the revision, with the app's
// log stream token), a container group's container logs (read again every Poll with
// Follow: Container Instances have no stream), App Service's log stream (Kudu, with
// the Entra ID token). It returns when the service ends the stream, or with Follow
// when ctx ends.
func (a *ARM) Logs(ctx context.Context, target string, r Resource, o LogOptions, emit func(LogLine) error) error {
	switch target {
	case ContainerApps:
		return a.containerAppLogs(ctx, r, o, emit)
	case ContainerInstances:
		return a.containerGroupLogs(ctx, r, o, emit)
	case AppService, Functions:
		return a.siteLogs(ctx, r, o, emit)
	}
	return &InputError{fmt.Sprintf("target %q has no logs pyship reads", target)}
}

func (a *ARM) containerAppLogs(ctx context.Context, r Resource, o LogOptions, emit func(LogLine) error) error {
	rev := o.Revision
	if rev == "" {
		b, err := a.Get(ctx, r.ID, r.APIVersion)
		if err != nil {
			return err
		}
		if b == nil {
			return &DeployError{What: r.What, Msg: "Azure has no such Container App (removed outside pyship?): deploy it again, or pyship down forgets it"}
		}
		if rev = latestRevision(b); rev == "" {
			return &DeployError{What: r.What, Msg: "Azure reports no revision yet: its first deploy is still provisioning; pyship status shows where it is"}
		}
	}
	b, err := a.Get(ctx, r.ID+"/revisions/"+rev+"/replicas", r.APIVersion)
	if err != nil {
		return err
	}
	if b == nil {
		return &DeployError{What: r.What, Msg: fmt.Sprintf("Azure has no revision %s", rev)}
	}
	var replicas struct {
		Value []struct {
			Name       string `json:"name"`
			Properties struct {
				Containers []struct {
					Name              string `json:"name"`
					LogStreamEndpoint string `json:"logStreamEndpoint"`
				} `json:"containers"`
			} `json:"properties"`
		} `json:"value"`
	}
	if err := json.Unmarshal(b, &replicas); err != nil {
		return fmt.Errorf("%s: reading its replicas: %w", r.What, err)
	}
	tb, err := a.Post(ctx, r.ID+"/getAuthtoken", r.APIVersion)
	if err != nil {
		return err
	}
	var tok struct {
		Properties struct {
			Token string `json:"token"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(tb, &tok); err != nil || tok.Properties.Token == "" {
		return &DeployError{What: r.What, Msg: "Azure gave no log stream token: try again; az containerapp logs show reads the same stream"}
	}
	var streams []func() error
	var mu sync.Mutex // one line at a time reaches emit
	safeEmit := func(l LogLine) error {
		mu.Lock()
		defer mu.Unlock()
		return emit(l)
	}
	for _, rep := range replicas.Value {
		for _, c := range rep.Properties.Containers {
			if c.LogStreamEndpoint == "" {
				continue
			}
			u, err := url.Parse(c.LogStreamEndpoint)
			if err != nil || u.Scheme != "https" {
				return &DeployError{What: r.What, Msg: fmt.Sprintf("Azure gave a log stream endpoint pyship will not call: %q", c.LogStreamEndpoint)}
			}
			q := u.Query()
			q.Set("follow", strconv.FormatBool(o.Follow))
			q.Set("output", "text")
			if o.Tail > 0 {
				q.Set("tailLines", strconv.Itoa(min(o.Tail, 300))) // the service's limit
			}
			u.RawQuery = q.Encode()
			replica := rep.Name
			streams = append(streams, func() error {
				return a.stream(ctx, u.String(), "Bearer "+tok.Properties.Token, func(line string) error {
					t, msg := splitStamp(line)
					return safeEmit(LogLine{Time: t, Replica: replica, Revision: rev, Message: msg})
				})
			})
		}
	}
	if len(streams) == 0 {
		return &DeployError{What: r.What, Msg: fmt.Sprintf("revision %s has no replica running to read logs from (scaled to zero, or not started: az containerapp revision show)", rev)}
	}
	errs := make(chan error, len(streams))
	for _, s := range streams {
		go func() { errs <- s() }()
	}
	var first error
	for range streams {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// stream reads a text stream of lines from a service endpoint outside Resource
// Manager with auth as its Authorization.
func (a *ARM) stream(ctx context.Context, rawURL, auth string, line func(string) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", auth)
	var resp *http.Response
	if a.transport != nil {
		resp, err = a.transport.Do(req)
	} else {
		resp, err = streamClient.Do(req)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("reading the log stream at %s: %w", req.URL.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the log stream at %s answered %s", req.URL.Host, resp.Status)
	}
	return scanLines(ctx, resp.Body, line)
}

// streamClient has no overall timeout (a followed stream lasts) but bounds the
// connection and the wait for the answer's headers.
var streamClient = &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment,
	TLSHandshakeTimeout: 15 * time.Second, ResponseHeaderTimeout: 30 * time.Second}}

func scanLines(ctx context.Context, r io.Reader, line func(string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLogLine)
	for sc.Scan() {
		if err := line(sc.Text()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// splitStamp splits a leading RFC 3339 timestamp off a log line.
func splitStamp(line string) (string, string) {
	first, rest, ok := strings.Cut(line, " ")
	if ok {
		if _, err := time.Parse(time.RFC3339Nano, first); err == nil {
			return first, rest
		}
	}
	return "", line
}

func (a *ARM) containerGroupLogs(ctx context.Context, r Resource, o LogOptions, emit func(LogLine) error) error {
	poll := o.Poll
	if poll <= 0 {
		poll = 5 * time.Second
	}
	id := r.ID + "/containers/" + appName(r.ID) + "/logs"
	var seen []string
	for first := true; ; first = false {
		q := url.Values{}
		if !o.Follow && o.Tail > 0 {
			q.Set("tail", strconv.Itoa(o.Tail))
		}
		b, err := a.get(ctx, id, r.APIVersion, q)
		if err != nil {
			return err
		}
		if b == nil {
			return &DeployError{What: r.What, Msg: "Azure has no such container group (removed outside pyship?): deploy it again, or pyship down forgets it"}
		}
		var logs struct {
			Content string `json:"content"`
		}
		if err := json.Unmarshal(b, &logs); err != nil {
			return fmt.Errorf("%s: reading its logs: %w", r.What, err)
		}
		var lines []string
		if logs.Content != "" {
			lines = strings.Split(strings.TrimSuffix(logs.Content, "\n"), "\n")
		}
		// The API returns the container's whole log each time (followed, it is read
		// whole): print what follows the lines already printed, all of it when the
		// container restarted, and the first time only the last Tail.
		start := 0
		switch {
		case first && o.Follow && o.Tail > 0:
			start = max(0, len(lines)-o.Tail)
		case len(seen) > 0:
			start = after(lines, seen)
		}
		for _, l := range lines[start:] {
			if err := emit(LogLine{Message: l}); err != nil {
				return err
			}
		}
		seen = lines
		if !o.Follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(poll):
		}
	}
}

// after is where the lines not printed yet begin in a container's whole log, given the
// lines printed from it before: after the last place the last of those (up to three,
// fewer when the service has dropped the older ones from the start of a long log)
// appear together. Not found: the container restarted, and all of it is new.
func after(lines, seen []string) int {
	for k := min(3, len(seen)); k > 0; k-- {
		anchor := seen[len(seen)-k:]
		for i := len(lines) - k; i >= 0; i-- {
			match := true
			for j := range anchor {
				if lines[i+j] != anchor[j] {
					match = false
					break
				}
			}
			if match {
				return i + k
			}
		}
	}
	return 0
}

func (a *ARM) siteLogs(ctx context.Context, r Resource, o LogOptions, emit func(LogLine) error) error {
	b, err := a.Get(ctx, r.ID, r.APIVersion)
	if err != nil {
		return err
	}
	if b == nil {
		return &DeployError{What: r.What, Msg: "Azure has no such web app (removed outside pyship?): deploy it again, or pyship down forgets it"}
	}
	scm := scmHost(b)
	if scm == "" {
		return &DeployError{What: r.What, Msg: "Azure reports no SCM (Kudu) host for the web app, where its log stream is: az webapp log tail reads it another way"}
	}
	// The request below carries the Entra token: it ends with the stream, and a stream
	// read without -f ends after at most half a minute whatever the app prints.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !o.Follow {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeout(ctx, 30*time.Second)
		defer stop()
	}
	// Kudu's log stream takes the Entra ID token Resource Manager does: the request
	// goes through the ARM pipeline, which adds it.
	req, err := runtime.NewRequest(ctx, http.MethodGet, "https://"+scm+"/api/logstream")
	if err != nil {
		return err
	}
	runtime.SkipBodyDownload(req) // a stream: read as it comes, never whole
	resp, err := a.pl.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return a.explain(ctx, r, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return a.explain(ctx, r, runtime.NewResponseError(resp))
	}
	// The stream starts with the recent lines and then follows; without Follow the
	// lines already there are read and the stream is left.
	lines := make(chan string)
	done := make(chan error, 1)
	go func() {
		done <- scanLines(ctx, resp.Body, func(l string) error {
			select {
			case lines <- l:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		close(lines)
	}()
	var tail []string
	quiet := time.NewTimer(2 * time.Second)
	defer quiet.Stop()
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				return flushTail(tail, emit, <-done)
			}
			if strings.TrimSpace(l) == "" || strings.Contains(l, "Welcome, you are now connected to log-streaming service") {
				continue
			}
			t, msg := splitStamp(l)
			line := LogLine{Time: t, Message: msg}
			if !o.Follow && o.Tail > 0 {
				tail = append(tail, l)
				if len(tail) > o.Tail {
					tail = tail[1:]
				}
				quiet.Reset(2 * time.Second)
				continue
			}
			if err := emit(line); err != nil {
				return err
			}
			quiet.Reset(2 * time.Second)
		case <-quiet.C:
			if !o.Follow {
				return flushTail(tail, emit, nil)
			}
		case <-ctx.Done():
			if !o.Follow {
				return flushTail(tail, emit, nil)
			}
			return nil
		}
	}
}

func flushTail(tail []string, emit func(LogLine) error, err error) error {
	for _, l := range tail {
		t, msg := splitStamp(l)
		if e := emit(LogLine{Time: t, Message: msg}); e != nil {
			return e
		}
	}
	return err
}
