package kube

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsac "k8s.io/client-go/applyconfigurations/apps/v1"
	coreac "k8s.io/client-go/applyconfigurations/core/v1"
	metaac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
)

// Labels and annotations on what pyship creates. The app and revision labels are the
// local engine's, so `kubectl get pods -l pyship.app=shop` reads like `docker ps`.
const (
	LabelApp       = platform.LabelApp
	LabelRevision  = platform.LabelRevision
	LabelState     = platform.LabelState
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// AnnotationSpec is the revision's spec, secret digests left out (as the local
	// engine's label): enough to rebuild the app's record from the cluster alone.
	AnnotationSpec = platform.LabelSpecJSON
)

// containerName is the app's container in every pod.
const containerName = "app"

// drainDelay is how long a pod keeps serving after it is told to stop (preStop), so
// that every kube-proxy and load balancer has stopped sending it new requests before
// the app gets SIGTERM; in-flight requests then finish within the grace period.
const drainDelay = 5

// Options are what a revision's objects need beyond its Release.
type Options struct {
	Namespace string
	StateID   string // the state directory's (platform.StateID)
	// UID and GID are the image's numeric user (pyship's images: 10001); 0 leaves
	// runAsUser to the image, which must then name a numeric non-root user.
	UID, GID int64
	// Grace is the seconds the app gets between SIGTERM and SIGKILL.
	Grace int64
	// Resources per replica; zero values take the defaults below.
	CPURequest, MemoryRequest, MemoryLimit string
	// ProgressDeadline is the Deployment's, in seconds (how long a rollout may make no
	// progress before the cluster reports it failed).
	ProgressDeadline int32
}

// Objects are what one revision of an app is on the cluster.
type Objects struct {
	// Secret holds the revision's secret values (nil when it has none): immutable, and
	// named after the revision, whose name hashes the values' keyed digests, so a new
	// value is a new Secret and an old revision keeps its own for rollback.
	Secret     *coreac.SecretApplyConfiguration
	Deployment *appsac.DeploymentApplyConfiguration
}

func appLabels(app, stateID string) map[string]string {
	l := map[string]string{LabelApp: app, LabelManagedBy: "pyship"}
	if stateID != "" {
		l[LabelState] = stateID
	}
	return l
}

func revisionLabels(app, rev, stateID string) map[string]string {
	l := appLabels(app, stateID)
	l[LabelRevision] = rev
	return l
}

// selector is what a revision's pods are found by: the app and the revision only, so
// that the Service and the Deployment select the same pods whatever other labels are.
func selector(app, rev string) map[string]string {
	return map[string]string{LabelApp: app, LabelRevision: rev}
}

// specAnnotation is the spec with secret names but no digests (a digest of a short
// secret can be guessed: only the Secret object holds anything derived from a value).
func specAnnotation(spec store.Spec) string {
	names := map[string]string{}
	for k := range spec.Secrets {
		names[k] = ""
	}
	spec.Secrets = names
	b, _ := json.Marshal(spec)
	return string(b)
}

// RevisionObjects builds the Secret and Deployment of one revision.
func RevisionObjects(rel platform.Release, o Options) Objects {
	ns, app, rev := o.Namespace, rel.App, rel.Revision
	meta := revisionLabels(app, rev, o.StateID)
	ann := map[string]string{AnnotationSpec: specAnnotation(rel.Spec)}
	var out Objects
	c := coreac.Container().WithName(containerName).
		WithImage(rel.Spec.ImageRef).
		WithImagePullPolicy(corev1.PullIfNotPresent).
		WithPorts(coreac.ContainerPort().WithName("http").WithContainerPort(int32(rel.Spec.Port)).WithProtocol(corev1.ProtocolTCP))
	if len(rel.Spec.Cmd) > 0 {
		c.WithCommand(rel.Spec.Cmd...)
	}
	for _, kv := range rel.Env {
		k, v, _ := strings.Cut(kv, "=")
		c.WithEnv(coreac.EnvVar().WithName(k).WithValue(v))
	}
	pod := coreac.PodSpec().
		WithAutomountServiceAccountToken(false).
		WithEnableServiceLinks(false).
		WithTerminationGracePeriodSeconds(o.grace() + drainDelay)
	if len(rel.Secrets) > 0 {
		out.Secret = coreac.Secret(rev, ns).WithLabels(meta).
			WithType(corev1.SecretTypeOpaque).
			WithImmutable(true).
			WithData(maps.Clone(rel.Secrets))
		// Each secret by name, not envFrom: a key that is not a valid variable name
		// would be skipped silently by envFrom.
		for _, k := range slices.Sorted(maps.Keys(rel.Secrets)) {
			c.WithEnv(coreac.EnvVar().WithName(k).WithValueFrom(coreac.EnvVarSource().
				WithSecretKeyRef(coreac.SecretKeySelector().WithName(rev).WithKey(k))))
		}
		if rel.Spec.SecretFiles {
			c.WithVolumeMounts(coreac.VolumeMount().WithName("secrets").WithMountPath("/run/secrets").WithReadOnly(true))
			// 0440 with the pod's fsGroup: readable by the app's user, by no other.
			// Without a known uid there is no fsGroup and the files stay root:root, which
			// the image's own non-root user could not read at 0440: 0444 then, as the
			// app's user is the only one in the container.
			mode := int32(0o440)
			if o.UID <= 0 {
				mode = 0o444
			}
			pod.WithVolumes(coreac.Volume().WithName("secrets").
				WithSecret(coreac.SecretVolumeSource().WithSecretName(rev).WithDefaultMode(mode)))
		}
	}
	// The root filesystem is read-only; the app writes where Python apps expect to:
	// /tmp (gunicorn's worker heartbeat files, tempfile) is a pod-private emptyDir.
	c.WithVolumeMounts(coreac.VolumeMount().WithName("tmp").WithMountPath("/tmp"))
	pod.WithVolumes(coreac.Volume().WithName("tmp").WithEmptyDir(coreac.EmptyDirVolumeSource().WithSizeLimit(resource.MustParse("256Mi"))))

	sc := coreac.SecurityContext().
		WithRunAsNonRoot(true).
		WithReadOnlyRootFilesystem(true).
		WithAllowPrivilegeEscalation(false).
		WithCapabilities(coreac.Capabilities().WithDrop("ALL")).
		WithSeccompProfile(coreac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault))
	psc := coreac.PodSecurityContext()
	if o.UID > 0 {
		sc.WithRunAsUser(o.UID)
		gid := o.GID
		if gid == 0 {
			gid = o.UID
		}
		sc.WithRunAsGroup(gid)
		psc.WithFSGroup(gid)
	}
	pod.WithSecurityContext(psc)
	c.WithSecurityContext(sc)
	c.WithReadinessProbe(coreac.Probe().
		WithHTTPGet(coreac.HTTPGetAction().WithPath(probePath(rel.Spec.Probe)).WithPort(intstr.FromString("http"))).
		WithPeriodSeconds(1).WithTimeoutSeconds(2).WithFailureThreshold(3).WithSuccessThreshold(1))
	c.WithLifecycle(coreac.Lifecycle().WithPreStop(coreac.LifecycleHandler().
		WithSleep(coreac.SleepAction().WithSeconds(drainDelay))))
	c.WithResources(coreac.ResourceRequirements().
		WithRequests(corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse(or(o.CPURequest, "100m")),
			corev1.ResourceMemory: resource.MustParse(or(o.MemoryRequest, "128Mi")),
		}).
		WithLimits(corev1.ResourceList{
			corev1.ResourceMemory: resource.MustParse(or(o.MemoryLimit, "512Mi")),
		}))
	pod.WithContainers(c)

	replicas := int32(max(1, rel.Spec.Replicas))
	out.Deployment = appsac.Deployment(rev, ns).WithLabels(meta).WithAnnotations(ann).
		WithSpec(appsac.DeploymentSpec().
			WithReplicas(replicas).
			WithRevisionHistoryLimit(0).
			WithProgressDeadlineSeconds(or32(o.ProgressDeadline, 600)).
			WithSelector(metaac.LabelSelector().WithMatchLabels(selector(app, rev))).
			WithTemplate(coreac.PodTemplateSpec().WithLabels(meta).WithAnnotations(ann).WithSpec(pod)))
	return out
}

// ServiceObject is the app's Service: port 80 to the pods' "http" port, selecting the
// serving revision's pods (none while rev is "": the app exists, nothing serves).
func ServiceObject(app, rev string, o Options) *coreac.ServiceApplyConfiguration {
	sel := selector(app, rev)
	if rev == "" {
		sel[LabelRevision] = "none"
	}
	return coreac.Service(app, o.Namespace).WithLabels(appLabels(app, o.StateID)).
		WithSpec(coreac.ServiceSpec().
			WithType(corev1.ServiceTypeClusterIP).
			WithSelector(sel).
			WithPorts(coreac.ServicePort().WithName("http").WithProtocol(corev1.ProtocolTCP).
				WithPort(80).WithTargetPort(intstr.FromString("http"))))
}

func probePath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

func (o Options) grace() int64 {
	if o.Grace > 0 {
		return o.Grace
	}
	return 30
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func or32(v, def int32) int32 {
	if v == 0 {
		return def
	}
	return v
}
