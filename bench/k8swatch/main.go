// Command k8swatch prints, as JSON lines with the host's clock in nanoseconds, the moments
// a Kubernetes deploy goes through in some namespaces: a Deployment appears, each of its
// pods is first seen and turns Ready, a Service starts selecting a revision, and the set of
// revisions among a Service's ready endpoints changes. bench/k8s-deploy.sh times pyship and
// kubectl against these moments.
//
// The API's own timestamps (creationTimestamp, a condition's lastTransitionTime) have one
// second granularity, coarser than what is measured; an informer on the same host sees each
// change a few milliseconds after the API server makes it, the same delay for both sides.
//
//	go run ./bench/k8swatch -kubeconfig K -namespace a -namespace b > events.jsonl
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// The label pyship puts on a revision's objects and pods and in its Service's selector
// (internal/kube); pyship render writes the same, so kubectl's side of the benchmark has it too.
const labelRevision = "pyship.revision"

type event struct {
	T    int64    `json:"t"` // Unix nanoseconds, when this process saw it
	NS   string   `json:"ns"`
	Kind string   `json:"kind"` // deployment, pod, service, endpoints
	Name string   `json:"name"`
	Ev   string   `json:"ev"` // created, seen, ready, selects, revisions, synced
	Rev  string   `json:"rev,omitempty"`
	Revs []string `json:"revs,omitempty"`
}

type watcher struct {
	mu  sync.Mutex
	enc *json.Encoder
	// What was already reported, so each moment is printed once.
	ready    map[string]bool     // ns/pod
	selects  map[string]string   // ns/service → revision
	podRev   map[string]string   // ns/pod → revision
	slices   map[string][]string // ns/slice → ready pods
	svcRevs  map[string]string   // ns/service → revisions among its ready endpoints
	sliceSvc map[string]string   // ns/slice → service
}

func (w *watcher) emit(e event) {
	e.T = time.Now().UnixNano()
	w.mu.Lock()
	defer w.mu.Unlock()
	// Unbuffered stdout: a line is in the file the moment it is printed.
	if err := w.enc.Encode(e); err != nil {
		fmt.Fprintln(os.Stderr, "k8swatch:", err)
		os.Exit(1)
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (w *watcher) pod(obj any, added bool) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	key := p.Namespace + "/" + p.Name
	rev := p.Labels[labelRevision]
	w.mu.Lock()
	w.podRev[key] = rev
	report := podReady(p) && !w.ready[key]
	if report {
		w.ready[key] = true
	}
	w.mu.Unlock()
	if added {
		w.emit(event{NS: p.Namespace, Kind: "pod", Name: p.Name, Ev: "seen", Rev: rev})
	}
	if report {
		w.emit(event{NS: p.Namespace, Kind: "pod", Name: p.Name, Ev: "ready", Rev: rev})
	}
}

func (w *watcher) service(obj any) {
	s, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	key := s.Namespace + "/" + s.Name
	rev := s.Spec.Selector[labelRevision]
	w.mu.Lock()
	changed := w.selects[key] != rev
	w.selects[key] = rev
	w.mu.Unlock()
	if changed && rev != "" {
		w.emit(event{NS: s.Namespace, Kind: "service", Name: s.Name, Ev: "selects", Rev: rev})
	}
}

// endpoints reports the revisions of the pods a Service's EndpointSlices list as ready,
// whenever that set changes: the switch as kube-proxy sees it.
func (w *watcher) endpoints(obj any, deleted bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return
	}
	svc := s.Labels[discoveryv1.LabelServiceName]
	if svc == "" {
		return
	}
	var pods []string
	if !deleted {
		for _, e := range s.Endpoints {
			if e.TargetRef != nil && e.TargetRef.Kind == "Pod" && (e.Conditions.Ready == nil || *e.Conditions.Ready) {
				pods = append(pods, e.TargetRef.Name)
			}
		}
	}
	w.mu.Lock()
	w.slices[s.Namespace+"/"+s.Name] = pods
	w.sliceSvc[s.Namespace+"/"+s.Name] = svc
	var revs []string
	for k, ps := range w.slices {
		if w.sliceSvc[k] != svc || !strings.HasPrefix(k, s.Namespace+"/") {
			continue
		}
		for _, p := range ps {
			rev := w.podRev[s.Namespace+"/"+p]
			if rev == "" {
				// Not seen by the pod informer yet: a Deployment's pod is named
				// REVISION-RSHASH-SUFFIX.
				if i := strings.LastIndex(p, "-"); i > 0 {
					if j := strings.LastIndex(p[:i], "-"); j > 0 {
						rev = p[:j]
					}
				}
			}
			if !slices.Contains(revs, rev) {
				revs = append(revs, rev)
			}
		}
	}
	slices.Sort(revs)
	key := s.Namespace + "/" + svc
	joined := strings.Join(revs, ",")
	changed := w.svcRevs[key] != joined
	w.svcRevs[key] = joined
	w.mu.Unlock()
	if changed {
		w.emit(event{NS: s.Namespace, Kind: "endpoints", Name: svc, Ev: "revisions", Revs: revs})
	}
}

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig `FILE`")
	var namespaces []string
	flag.Func("namespace", "watch `NS` (repeatable)", func(s string) error { namespaces = append(namespaces, s); return nil })
	flag.Parse()
	if len(namespaces) == 0 {
		fmt.Fprintln(os.Stderr, "k8swatch: at least one -namespace")
		os.Exit(2)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8swatch:", err)
		os.Exit(1)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8swatch:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	w := &watcher{enc: json.NewEncoder(os.Stdout), ready: map[string]bool{}, selects: map[string]string{},
		podRev: map[string]string{}, slices: map[string][]string{}, svcRevs: map[string]string{}, sliceSvc: map[string]string{}}
	var synced []cache.InformerSynced
	for _, ns := range namespaces {
		f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
		pods := f.Core().V1().Pods().Informer()
		pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { w.pod(o, true) },
			UpdateFunc: func(_, o any) { w.pod(o, false) },
		})
		deps := f.Apps().V1().Deployments().Informer()
		deps.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: func(o any) {
				if d, ok := o.(*appsv1.Deployment); ok {
					w.emit(event{NS: d.Namespace, Kind: "deployment", Name: d.Name, Ev: "created", Rev: d.Labels[labelRevision]})
				}
			},
		})
		svcs := f.Core().V1().Services().Informer()
		svcs.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    w.service,
			UpdateFunc: func(_, o any) { w.service(o) },
		})
		eps := f.Discovery().V1().EndpointSlices().Informer()
		eps.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { w.endpoints(o, false) },
			UpdateFunc: func(_, o any) { w.endpoints(o, false) },
			DeleteFunc: func(o any) { w.endpoints(o, true) },
		})
		synced = append(synced, pods.HasSynced, deps.HasSynced, svcs.HasSynced, eps.HasSynced)
		f.Start(ctx.Done())
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		os.Exit(1)
	}
	// The caller waits for this line before it starts what it times.
	w.emit(event{Kind: "watch", Ev: "synced"})
	<-ctx.Done()
}
