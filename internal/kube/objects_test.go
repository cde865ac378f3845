package kube

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
)

// sentinel is a secret value that must appear in the revision's Secret and nowhere else.
const sentinel = "s3cr3t-SENTINEL-value-4711"

func secretRelease() platform.Release {
	rel := release("shop", "abcd1234", 2)
	rel.Spec.Env = map[string]string{"MODE": "prod"}
	rel.Spec.Secrets = map[string]string{"API_KEY": "digest-of-api-key-0001", "DB_PASSWORD": "digest-of-db-0002"}
	rel.Env = []string{"MODE=prod", "PORT=8000"}
	rel.Secrets = map[string][]byte{"API_KEY": []byte(sentinel), "DB_PASSWORD": []byte(sentinel + "-db")}
	return rel
}

func podSpecOf(t *testing.T, rel platform.Release, o Options) (*appsv1.Deployment, corev1.PodSpec, corev1.Container) {
	t.Helper()
	d := deployment(rel, o)
	ps := d.Spec.Template.Spec
	if len(ps.Containers) != 1 || ps.Containers[0].Name != containerName {
		t.Fatalf("containers: %+v", ps.Containers)
	}
	return d, ps, ps.Containers[0]
}

func TestRevisionObjectsProbeAndLifecycle(t *testing.T) {
	for _, tc := range []struct {
		name, probe, wantPath string
		port                  int
	}{
		{"the plan's probe path", "/healthz", "/healthz", 8000},
		{"no probe path: the root", "", "/", 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rel := release("shop", "abcd1234", 1)
			rel.Spec.Probe, rel.Spec.Port = tc.probe, tc.port
			_, ps, c := podSpecOf(t, rel, Options{Namespace: testNS})
			if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != int32(tc.port) || c.Ports[0].Protocol != corev1.ProtocolTCP {
				t.Errorf("ports = %+v, want http on %d", c.Ports, tc.port)
			}
			rp := c.ReadinessProbe
			if rp == nil || rp.HTTPGet == nil {
				t.Fatalf("readiness probe = %+v, want an HTTP GET", rp)
			}
			if rp.HTTPGet.Path != tc.wantPath || rp.HTTPGet.Port != intstr.FromString("http") {
				t.Errorf("probe GET %s on %v, want %s on the http port", rp.HTTPGet.Path, rp.HTTPGet.Port, tc.wantPath)
			}
			if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds != drainDelay {
				t.Errorf("preStop = %+v, want a %d s sleep", c.Lifecycle, drainDelay)
			}
			if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
				t.Error("the pod mounts a service account token; the app needs none")
			}
			if ps.EnableServiceLinks == nil || *ps.EnableServiceLinks {
				t.Error("service links are on: every Service of the namespace would land in the app's environment")
			}
		})
	}
}

func TestRevisionObjectsGrace(t *testing.T) {
	for _, tc := range []struct {
		grace, want int64
	}{{0, 30 + drainDelay}, {10, 10 + drainDelay}} {
		_, ps, _ := podSpecOf(t, release("shop", "abcd1234", 1), Options{Namespace: testNS, Grace: tc.grace})
		if ps.TerminationGracePeriodSeconds == nil || *ps.TerminationGracePeriodSeconds != tc.want {
			t.Errorf("Grace %d: terminationGracePeriodSeconds = %v, want %d (grace after the preStop sleep)", tc.grace, ps.TerminationGracePeriodSeconds, tc.want)
		}
	}
}

func TestRevisionObjectsSecurityContext(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		uid, gid             int64
		wantUID, wantGID     *int64
		wantFSGroup          *int64
		wantSecretFileMode   int32
		wantSecretFileAccess string
	}{
		{name: "pyship's image user", uid: 10001, wantUID: ptr(int64(10001)), wantGID: ptr(int64(10001)), wantFSGroup: ptr(int64(10001)), wantSecretFileMode: 0o440},
		{name: "uid and gid", uid: 1000, gid: 2000, wantUID: ptr(int64(1000)), wantGID: ptr(int64(2000)), wantFSGroup: ptr(int64(2000)), wantSecretFileMode: 0o440},
		// The image's user is not known: the kubelet runs the image's own (numeric,
		// non-root) user with the image's group, which no fsGroup makes the files'
		// owner: 0440 root:root would be unreadable to the app.
		{name: "user left to the image", wantSecretFileMode: 0o444},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rel := secretRelease()
			rel.Spec.SecretFiles = true
			_, ps, c := podSpecOf(t, rel, Options{Namespace: testNS, UID: tc.uid, GID: tc.gid})
			sc := c.SecurityContext
			if sc == nil {
				t.Fatal("no container securityContext")
			}
			if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
				t.Error("runAsNonRoot is not set")
			}
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Error("the root filesystem is writable")
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Error("privilege escalation is allowed")
			}
			if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 {
				t.Errorf("capabilities = %+v, want ALL dropped and none added", sc.Capabilities)
			}
			if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("seccomp = %+v, want RuntimeDefault", sc.SeccompProfile)
			}
			if sc.Privileged != nil && *sc.Privileged {
				t.Error("privileged")
			}
			if !eqPtr(sc.RunAsUser, tc.wantUID) || !eqPtr(sc.RunAsGroup, tc.wantGID) {
				t.Errorf("runAsUser %v runAsGroup %v, want %v %v", deref(sc.RunAsUser), deref(sc.RunAsGroup), deref(tc.wantUID), deref(tc.wantGID))
			}
			if ps.SecurityContext == nil || !eqPtr(ps.SecurityContext.FSGroup, tc.wantFSGroup) {
				t.Errorf("pod securityContext = %+v, want fsGroup %v", ps.SecurityContext, deref(tc.wantFSGroup))
			}
			v := volume(ps, "secrets")
			if v == nil || v.Secret == nil {
				t.Fatalf("no secrets volume: %+v", ps.Volumes)
			}
			if v.Secret.SecretName != rel.Revision || v.Secret.DefaultMode == nil || *v.Secret.DefaultMode != tc.wantSecretFileMode {
				t.Errorf("secrets volume = %+v, want the revision's Secret with mode %o", v.Secret, tc.wantSecretFileMode)
			}
			m := mount(c, "secrets")
			if m == nil || m.MountPath != "/run/secrets" || !m.ReadOnly {
				t.Errorf("secrets mount = %+v, want /run/secrets read-only", m)
			}
		})
	}
}

func TestRevisionObjectsResources(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		o                    Options
		cpu, memReq, memLimt string
	}{
		{"defaults", Options{}, "100m", "128Mi", "512Mi"},
		{"set", Options{CPURequest: "250m", MemoryRequest: "1Gi", MemoryLimit: "2Gi"}, "250m", "1Gi", "2Gi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Namespace = testNS
			_, _, c := podSpecOf(t, release("shop", "abcd1234", 1), tc.o)
			r := c.Resources
			for _, q := range []struct {
				what string
				got  resource.Quantity
				want string
			}{
				{"cpu request", r.Requests[corev1.ResourceCPU], tc.cpu},
				{"memory request", r.Requests[corev1.ResourceMemory], tc.memReq},
				{"memory limit", r.Limits[corev1.ResourceMemory], tc.memLimt},
			} {
				if q.got.Cmp(resource.MustParse(q.want)) != 0 {
					t.Errorf("%s = %s, want %s", q.what, q.got.String(), q.want)
				}
			}
			if _, ok := r.Limits[corev1.ResourceCPU]; ok {
				t.Error("a CPU limit throttles the app; only a request is wanted")
			}
		})
	}
}

func TestRevisionObjectsTmpAndEnv(t *testing.T) {
	rel := secretRelease()
	rel.Spec.Cmd = []string{"gunicorn", "app:app"}
	_, ps, c := podSpecOf(t, rel, Options{Namespace: testNS})
	v := volume(ps, "tmp")
	if v == nil || v.EmptyDir == nil || v.EmptyDir.SizeLimit == nil || v.EmptyDir.SizeLimit.Cmp(resource.MustParse("256Mi")) != 0 {
		t.Errorf("tmp volume = %+v, want a 256Mi emptyDir", v)
	}
	if m := mount(c, "tmp"); m == nil || m.MountPath != "/tmp" || m.ReadOnly {
		t.Errorf("tmp mount = %+v, want /tmp writable", m)
	}
	if !slices.Equal(c.Command, rel.Spec.Cmd) {
		t.Errorf("command = %q, want %q", c.Command, rel.Spec.Cmd)
	}
	if c.Image != rel.Spec.ImageRef || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("image %s (%s), want %s IfNotPresent", c.Image, c.ImagePullPolicy, rel.Spec.ImageRef)
	}
	want := []corev1.EnvVar{
		{Name: "MODE", Value: "prod"},
		{Name: "PORT", Value: "8000"},
		{Name: "API_KEY", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: rel.Revision}, Key: "API_KEY"}}},
		{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: rel.Revision}, Key: "DB_PASSWORD"}}},
	}
	if got, _ := json.Marshal(c.Env); string(got) != string(must(json.Marshal(want))) {
		t.Errorf("env = %s\nwant  %s", got, must(json.Marshal(want)))
	}
	if len(c.EnvFrom) != 0 {
		t.Errorf("envFrom = %+v: a key that is not a variable name would be skipped silently", c.EnvFrom)
	}
	if mount(c, "secrets") != nil || volume(ps, "secrets") != nil {
		t.Error("secret files mounted though the spec does not ask for them")
	}
}

func TestRevisionObjectsSecretStaysInItsSecret(t *testing.T) {
	rel := secretRelease()
	rel.Spec.SecretFiles = true
	objs := RevisionObjects(rel, Options{Namespace: testNS, StateID: testState, UID: 10001})
	var d appsv1.Deployment
	mustConvert(objs.Deployment, &d)
	b, err := json.Marshal(&d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), sentinel) {
		t.Errorf("the Deployment holds a secret value: %s", b)
	}
	for k, digest := range rel.Spec.Secrets {
		if strings.Contains(string(b), digest) {
			t.Errorf("the Deployment holds the digest of %s (a short value's digest can be guessed)", k)
		}
	}
	var s corev1.Secret
	mustConvert(objs.Secret, &s)
	if s.Name != rel.Revision || s.Namespace != testNS {
		t.Errorf("Secret %s/%s, want %s/%s", s.Namespace, s.Name, testNS, rel.Revision)
	}
	if s.Immutable == nil || !*s.Immutable {
		t.Error("the Secret is not immutable")
	}
	if s.Type != corev1.SecretTypeOpaque {
		t.Errorf("type %s", s.Type)
	}
	if !maps.EqualFunc(s.Data, rel.Secrets, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Errorf("data = %q, want %q", s.Data, rel.Secrets)
	}
	if !maps.Equal(s.Labels, revisionLabels(rel.App, rel.Revision, testState)) {
		t.Errorf("Secret labels = %v", s.Labels)
	}
}

func TestRevisionObjectsNoSecrets(t *testing.T) {
	rel := release("shop", "abcd1234", 1)
	objs := RevisionObjects(rel, Options{Namespace: testNS})
	if objs.Secret != nil {
		t.Errorf("a Secret for a revision without secrets: %+v", objs.Secret)
	}
	_, _, c := podSpecOf(t, rel, Options{Namespace: testNS})
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Errorf("env %s from a Secret that does not exist", e.Name)
		}
	}
}

func TestRevisionObjectsDeployment(t *testing.T) {
	for _, tc := range []struct {
		replicas int
		want     int32
	}{{0, 1}, {1, 1}, {3, 3}} {
		rel := secretRelease()
		rel.Spec.Replicas = tc.replicas
		d, _, _ := podSpecOf(t, rel, Options{Namespace: testNS, StateID: testState})
		if d.Spec.Replicas == nil || *d.Spec.Replicas != tc.want {
			t.Errorf("Replicas %d: deployment replicas %v, want %d", tc.replicas, d.Spec.Replicas, tc.want)
		}
		if d.Name != rel.Revision || d.Namespace != testNS {
			t.Errorf("Deployment %s/%s, want %s/%s", d.Namespace, d.Name, testNS, rel.Revision)
		}
		wantLabels := map[string]string{LabelApp: "shop", LabelRevision: rel.Revision, LabelState: testState, LabelManagedBy: "pyship"}
		if !maps.Equal(d.Labels, wantLabels) || !maps.Equal(d.Spec.Template.Labels, wantLabels) {
			t.Errorf("labels %v / template %v, want %v", d.Labels, d.Spec.Template.Labels, wantLabels)
		}
		if d.Spec.Selector == nil || !maps.Equal(d.Spec.Selector.MatchLabels, map[string]string{LabelApp: "shop", LabelRevision: rel.Revision}) || len(d.Spec.Selector.MatchExpressions) != 0 {
			t.Errorf("selector = %+v, want the app and revision only", d.Spec.Selector)
		}
		if d.Spec.RevisionHistoryLimit == nil || *d.Spec.RevisionHistoryLimit != 0 {
			t.Error("old ReplicaSets are kept: a revision is its own Deployment, it never rolls")
		}
		if d.Spec.ProgressDeadlineSeconds == nil || *d.Spec.ProgressDeadlineSeconds != 600 {
			t.Errorf("progress deadline %v, want the default 600", d.Spec.ProgressDeadlineSeconds)
		}
		for where, ann := range map[string]map[string]string{"Deployment": d.Annotations, "pod template": d.Spec.Template.Annotations} {
			spec, ok := parseSpec(ann[AnnotationSpec])
			if !ok {
				t.Fatalf("%s has no spec annotation: %v", where, ann)
			}
			want := rel.Spec
			want.Secrets = map[string]string{"API_KEY": "", "DB_PASSWORD": ""}
			if spec.Hash() != want.Hash() {
				t.Errorf("%s spec annotation = %+v, want %+v (names, no digests)", where, spec, want)
			}
		}
	}
	d, _, _ := podSpecOf(t, release("shop", "abcd1234", 1), Options{Namespace: testNS, ProgressDeadline: 90})
	if *d.Spec.ProgressDeadlineSeconds != 90 {
		t.Errorf("progress deadline %d, want 90", *d.Spec.ProgressDeadlineSeconds)
	}
}

func TestServiceObject(t *testing.T) {
	for _, tc := range []struct {
		name, rev, wantRev string
	}{
		{"a serving revision", "shop--abcd1234", "shop--abcd1234"},
		{"nothing serves", "", "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s corev1.Service
			mustConvert(ServiceObject("shop", tc.rev, Options{Namespace: testNS, StateID: testState}), &s)
			if s.Name != "shop" || s.Namespace != testNS || s.Spec.Type != corev1.ServiceTypeClusterIP {
				t.Errorf("Service %s/%s type %s", s.Namespace, s.Name, s.Spec.Type)
			}
			if !maps.Equal(s.Spec.Selector, map[string]string{LabelApp: "shop", LabelRevision: tc.wantRev}) {
				t.Errorf("selector = %v, want revision %s", s.Spec.Selector, tc.wantRev)
			}
			if !maps.Equal(s.Labels, appLabels("shop", testState)) || s.Labels[LabelRevision] != "" {
				t.Errorf("labels = %v, want the app's (no revision: it outlives them)", s.Labels)
			}
			want := corev1.ServicePort{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromString("http")}
			if len(s.Spec.Ports) != 1 || s.Spec.Ports[0] != want {
				t.Errorf("ports = %+v, want %+v", s.Spec.Ports, want)
			}
		})
	}
}

func TestAppLabelsWithoutState(t *testing.T) {
	if got := appLabels("shop", ""); !maps.Equal(got, map[string]string{LabelApp: "shop", LabelManagedBy: "pyship"}) {
		t.Errorf("appLabels without a state = %v", got)
	}
}

func TestSpecAnnotationKeepsTheCallersSpec(t *testing.T) {
	spec := store.Spec{Secrets: map[string]string{"K": "digest"}}
	specAnnotation(spec)
	if spec.Secrets["K"] != "digest" {
		t.Error("specAnnotation cleared the caller's digests")
	}
}

func volume(ps corev1.PodSpec, name string) *corev1.Volume {
	for i := range ps.Volumes {
		if ps.Volumes[i].Name == name {
			return &ps.Volumes[i]
		}
	}
	return nil
}

func mount(c corev1.Container, name string) *corev1.VolumeMount {
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].Name == name {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func eqPtr[T comparable](a, b *T) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func deref(p *int64) any {
	if p == nil {
		return "unset"
	}
	return *p
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
