package cli

import (
	"github.com/spf13/cobra"

	"github.com/pyship/pyship/internal/store"
)

// autoscaleFlags are deploy's and scale's --max-replicas and --cpu-percent: on
// Kubernetes, a revision may grow from --replicas to --max-replicas under CPU load.
type autoscaleFlags struct {
	max, cpu int
}

func (f *autoscaleFlags) bind(cmd *cobra.Command) {
	cmd.Flags().IntVar(&f.max, "max-replicas", 0, "autoscale up to `COUNT` replicas under CPU load (--target kubernetes; 0: a fixed count)")
	cmd.Flags().IntVar(&f.cpu, "cpu-percent", 0, "average CPU use, in `PERCENT` of each replica's request, that autoscaling aims for (default 70)")
}

// apply sets the app's autoscaling from the flags that were given, checked against its
// target and minimum; nothing is changed when a check fails.
func (f *autoscaleFlags) apply(app *store.App, set func(string) bool) error {
	max, cpu := app.MaxReplicas, app.CPUPercent
	if set("max-replicas") {
		max = f.max
	}
	if set("cpu-percent") {
		cpu = f.cpu
	}
	if max == 0 {
		cpu = 0
	}
	switch {
	case store.IsAzure(app.Target.Kind) && set("cpu-percent"):
		return usagef("--cpu-percent is for Kubernetes: Container Apps scale on HTTP requests (--max-replicas), Container Instances and App Service not per app")
	case store.IsAzure(app.Target.Kind):
		// Container Apps scale between --replicas and --max-replicas; the other
		// services' documents refuse it with their own reason.
	case (set("max-replicas") && f.max > 0 || set("cpu-percent")) && app.Target.Kind != store.Kubernetes:
		return usagef("--max-replicas and --cpu-percent autoscale on Kubernetes (--target kubernetes); on the local engine an app has a fixed count: --replicas")
	}
	if err := store.ValidAutoscale(app.Replicas, max, cpu); err != nil {
		return usage(err)
	}
	app.MaxReplicas, app.CPUPercent = max, cpu
	return nil
}
