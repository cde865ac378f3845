package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
)

// logServer answers pod log reads the way an API server does (client-go's fake
// clientset always streams "fake logs", so the error paths need a real client): by
// pod name, with a Status for errors. Anything else is forbidden.
type logServer struct {
	mu   sync.Mutex
	reqs []string // pod?query of each log read
}

func (s *logServer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	prefix := "/api/v1/namespaces/" + testNS + "/pods/"
	pod, ok := strings.CutPrefix(req.URL.Path, prefix)
	pod, isLog := strings.CutSuffix(pod, "/log")
	if !ok || !isLog {
		writeStatus(w, http.StatusForbidden, metav1.StatusReasonForbidden, "forbidden")
		return
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, pod+"?"+req.URL.RawQuery)
	s.mu.Unlock()
	previous := req.URL.Query().Get("previous") == "true"
	switch pod {
	case "gone":
		writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, `pods "gone" not found`)
	case "starting":
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, `container "app" in pod "starting" is waiting to start: ContainerCreating`)
	case "denied":
		writeStatus(w, http.StatusForbidden, metav1.StatusReasonForbidden, `pods "denied" is forbidden: User "dev" cannot get resource "pods/log"`)
	case "crashed":
		if previous {
			fmt.Fprint(w, "Traceback (most recent call last):\nModuleNotFoundError: No module named 'flask'\n")
		}
	case "rotated": // the crashed container's log is gone, the new one has lines
		if !previous {
			fmt.Fprint(w, "current output\n")
		}
	case "replaced": // the kubelet's 200 for a container it no longer has
		if previous {
			fmt.Fprint(w, "unable to retrieve container logs for containerd://7e5ec49d2e24")
		} else {
			fmt.Fprint(w, "hello: told to exit with 3\n")
		}
	case "follow":
		fmt.Fprint(w, "2026-01-02T03:04:05Z first\n")
		w.(http.Flusher).Flush()
		<-req.Context().Done()
	}
}

func (s *logServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...)
}

func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure, Code: int32(code), Reason: reason, Message: msg})
}

func logCluster(t *testing.T) (*Runtime, *logServer) {
	t.Helper()
	ls := &logServer{}
	srv := httptest.NewServer(ls)
	t.Cleanup(srv.Close)
	cfg := &rest.Config{Host: srv.URL}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &Runtime{CS: cs, Config: cfg, Target: store.Target{Context: testCtx, Namespace: testNS}}, ls
}

func TestLogsFromTheServer(t *testing.T) {
	for _, tc := range []struct {
		pod, out, err string
	}{
		{pod: "gone"},     // deleted meanwhile: nothing to show
		{pod: "starting"}, // not started yet: nothing to show
		{pod: "denied", err: `cannot read the logs of denied (context kind-test, namespace apps): the cluster refused it (forbidden): pods "denied" is forbidden: User "dev" cannot get resource "pods/log"; `},
		{pod: "rotated", out: "current output\n"},
	} {
		t.Run(tc.pod, func(t *testing.T) {
			r, _ := logCluster(t)
			var out bytes.Buffer
			err := r.Logs(ctxT(t), platform.Replica{ID: tc.pod, Name: tc.pod}, platform.LogOptions{}, &out)
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %s…", err, tc.err)
				}
				return
			}
			if err != nil || out.String() != tc.out {
				t.Errorf("Logs = %q, %v; want %q", out.String(), err, tc.out)
			}
		})
	}
}

func TestLogsFollowEndsWithTheContext(t *testing.T) {
	r, ls := logCluster(t)
	ctx, cancel := context.WithCancel(ctxT(t))
	w := &signalWriter{wrote: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() {
		done <- r.Logs(ctx, platform.Replica{ID: "follow", Name: "follow"}, platform.LogOptions{Follow: true}, w)
	}()
	select {
	case <-w.wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("no line while following")
	}
	cancel() // pyship logs -f: Ctrl-C
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("a follow ended by the user is not an error: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Logs did not return when its context ended")
	}
	if got := w.String(); got != "2026-01-02T03:04:05Z first\n" {
		t.Errorf("output %q", got)
	}
	if q := ls.requests()[0]; !strings.Contains(q, "follow=true") || !strings.Contains(q, "timestamps=true") || !strings.Contains(q, "container=app") {
		t.Errorf("query %s", q)
	}
}

type signalWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return w.buf.Write(p)
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestDeployErrorLogs(t *testing.T) {
	crashed := corev1.ContainerStatus{Name: containerName, RestartCount: 2,
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}
	for _, tc := range []struct {
		pod, diagnosis, logs string
		reads                []string
	}{
		{
			// The crashed container's lines and the hint they give.
			pod:       "crashed",
			diagnosis: "it exited with code 1 (Error): the image has no module flask: add its distribution to the project's dependencies (or fix the import)",
			logs:      "Traceback (most recent call last):\nModuleNotFoundError: No module named 'flask'",
			reads:     []string{"crashed?container=app&limitBytes=65536&previous=true&tailLines=30"},
		},
		{
			// Nothing left of the crashed container: the running one's lines.
			pod:       "rotated",
			diagnosis: "it exited with code 1 (Error)",
			logs:      "current output",
			reads:     []string{"rotated?container=app&limitBytes=65536&previous=true&tailLines=30", "rotated?container=app&limitBytes=65536&tailLines=30"},
		},
		{
			// The kubelet's "unable to retrieve" line is not the app's output.
			pod:       "replaced",
			diagnosis: "it exited with code 1 (Error)",
			logs:      "hello: told to exit with 3",
			reads:     []string{"replaced?container=app&limitBytes=65536&previous=true&tailLines=30", "replaced?container=app&limitBytes=65536&tailLines=30"},
		},
		{
			// Logs that cannot be read leave the diagnosis as it is.
			pod:       "denied",
			diagnosis: "it exited with code 1 (Error)",
			reads:     []string{"denied?container=app&limitBytes=65536&previous=true&tailLines=30", "denied?container=app&limitBytes=65536&tailLines=30"},
		},
	} {
		t.Run(tc.pod, func(t *testing.T) {
			r, ls := logCluster(t)
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: tc.pod, Namespace: testNS}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{crashed}}}
			why, fatal := failing(p)
			if !fatal {
				t.Fatal("a crash loop is not fatal")
			}
			de := deployErr(t, r.deployError(ctxT(t), release("shop", "abcd1234", 1), p, why))
			if de.Diagnosis != tc.diagnosis || de.Logs != tc.logs {
				t.Errorf("diagnosis %q logs %q\nwant      %q logs %q", de.Diagnosis, de.Logs, tc.diagnosis, tc.logs)
			}
			if strings.Join(ls.requests(), " ") != strings.Join(tc.reads, " ") {
				t.Errorf("log reads %q, want %q", ls.requests(), tc.reads)
			}
		})
	}
}
