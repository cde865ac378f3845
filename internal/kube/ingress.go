package kube

import (
	networkingv1 "k8s.io/api/networking/v1"
	netac "k8s.io/client-go/applyconfigurations/networking/v1"
)

// IngressObject routes requests for host to the app's Service, through the cluster's
// default ingress controller (AKS: the application routing add-on or any other); TLS
// is the controller's or cert-manager's business, as pyship keeps no certificates.
func IngressObject(app, host string, o Options) *netac.IngressApplyConfiguration {
	return netac.Ingress(app, o.Namespace).WithLabels(appLabels(app, o.StateID)).
		WithSpec(netac.IngressSpec().WithRules(netac.IngressRule().WithHost(host).
			WithHTTP(netac.HTTPIngressRuleValue().WithPaths(netac.HTTPIngressPath().
				WithPath("/").WithPathType(networkingv1.PathTypePrefix).
				WithBackend(netac.IngressBackend().WithService(netac.IngressServiceBackend().
					WithName(app).WithPort(netac.ServiceBackendPort().WithName("http"))))))))
}
