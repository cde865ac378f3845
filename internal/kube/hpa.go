package kube

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	autoscalingac "k8s.io/client-go/applyconfigurations/autoscaling/v2"

	"github.com/pyship/pyship/internal/platform"
)

// defaultCPUPercent is the average use of the pods' CPU request the autoscaler aims for.
const defaultCPUPercent = 70

// HPAObject is the revision's HorizontalPodAutoscaler when its spec lets the replica
// count grow (MaxReplicas above Replicas), else nil. It scales the revision's own
// Deployment, so a rollback brings back the autoscaling that revision had.
func HPAObject(rel platform.Release, o Options) *autoscalingac.HorizontalPodAutoscalerApplyConfiguration {
	min := int32(max(1, rel.Spec.Replicas))
	if int32(rel.Spec.MaxReplicas) <= min {
		return nil
	}
	cpu := int32(rel.Spec.CPUPercent)
	if cpu == 0 {
		cpu = defaultCPUPercent
	}
	return autoscalingac.HorizontalPodAutoscaler(rel.Revision, o.Namespace).
		WithLabels(revisionLabels(rel.App, rel.Revision, o.StateID)).
		WithSpec(autoscalingac.HorizontalPodAutoscalerSpec().
			WithScaleTargetRef(autoscalingac.CrossVersionObjectReference().
				WithAPIVersion("apps/v1").WithKind("Deployment").WithName(rel.Revision)).
			WithMinReplicas(min).
			WithMaxReplicas(int32(rel.Spec.MaxReplicas)).
			WithMetrics(autoscalingac.MetricSpec().
				WithType(autoscalingv2.ResourceMetricSourceType).
				WithResource(autoscalingac.ResourceMetricSource().
					WithName(corev1.ResourceCPU).
					WithTarget(autoscalingac.MetricTarget().
						WithType(autoscalingv2.UtilizationMetricType).
						WithAverageUtilization(cpu)))))
}
