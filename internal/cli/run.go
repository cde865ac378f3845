package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pyship/pyship/internal/build"
	"github.com/pyship/pyship/internal/buildctx"
	"github.com/pyship/pyship/internal/engine"
	"github.com/pyship/pyship/internal/imageref"
	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/publish"
	"github.com/pyship/pyship/internal/scaffold"
	"github.com/spf13/cobra"
)

// runFlags are pyship run's options, bound to its flags (as ko binds its options):
// the command stays a flag list and one call.
type runFlags struct {
	build   buildFlags
	image   string
	env     []string
	envFile string
	watch   bool
}

func newRun(g *globals) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run [DIR]",
		Short: "Build and run the project in the foreground, like docker run --rm -it -p",
		Long: `run builds the project (or takes --image), starts it with the port published on
127.0.0.1, streams its logs, and prints its URL once it answers HTTP. Failures are
explained in one line: a missing module, an app bound to 127.0.0.1 or to another port, a
crash on start. Settings come from --env and --env-file at run time and never enter the
image. Ctrl-C stops and removes the container. With --watch a source change rebuilds
(only the app layer changes) and restarts it.

With --json the app's output goes to stderr and stdout gets one JSON object per event
(JSON Lines): {"event":"ready","url":…} when the app answers, "rebuilding" after a
change, "stopped" at the end.`,
		Example: `  pyship run
  pyship run --env-file .env --port 8000
  pyship run ./api -e LOG_LEVEL=debug --watch
  pyship run --image myapp:1.2 --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRun(cmd.Context(), g, f, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f.build.bindIndex(cmd)
	cmd.Flags().StringVar(&f.image, "image", "", "run this image `REF` instead of building")
	cmd.Flags().StringArrayVarP(&f.env, "env", "e", nil, "`KEY=VALUE` for the app (read at run time, never copied into the image)")
	cmd.Flags().StringVar(&f.envFile, "env-file", "", "read KEY=VALUE lines from `FILE` at run time")
	cmd.Flags().BoolVar(&f.watch, "watch", false, "rebuild and restart when a source file changes")
	cmd.SetFlagErrorFunc(quietFlagErrors) // --env values
	return cmd
}

func runRun(ctx context.Context, g *globals, f *runFlags, args []string, stdout, stderr io.Writer) error {
	pr := newProgress(stderr)
	env, err := parseEnv(f.env, "--env", f.envFile)
	if err != nil {
		return usage(err)
	}
	image, watch := f.image, f.watch
	if image != "" {
		ref, err := imageref.Ref(image)
		if err != nil {
			return usage(fmt.Errorf("--image: %w", err))
		}
		image = ref
	}
	// With --json stdout is for events; the app's own output goes to stderr.
	events := newEvents(g.json, stdout)
	logs := stdout
	if g.json {
		logs = stderr
	}
	o, eng, err := f.build.options(ctx, g, args, pr.logf)
	if err != nil {
		return err
	}
	preflight(pr.logf, o.Plan, runAdvice, func(name string) bool { _, ok := env[name]; return ok })
	if eng == nil {
		ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := engine.New(ectx)
		cancel()
		return err
	}
	defer eng.Close()
	port := o.Plan.Port
	name := imageName(o.Dir)
	buildImage := func() (string, error) {
		if image != "" {
			return image, nil
		}
		res, err := build.Build(ctx, o)
		if err != nil {
			return "", err
		}
		tag := "pyship-run/" + name + ":latest"
		if _, err := publish.Engine(ctx, eng, res.Images[0], tag, pr.logf); err != nil {
			return "", err
		}
		return tag, nil
	}
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	list = append(list, "PORT="+strconv.Itoa(port))
	hostPort := port
	if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		l.Close()
	} else {
		hostPort = 0 // taken: let the engine pick one
	}
	var lastMod time.Time
	ctxDir := filepath.Join(o.Dir, filepath.FromSlash(o.Plan.Context))
	if watch {
		lastMod = newestChange(ctxDir)
	}
	for {
		ref, err := buildImage()
		if err != nil {
			return interrupted(ctx, err)
		}
		id, err := eng.Create(ctx, engine.CreateOptions{Name: fmt.Sprintf("pyship-run-%s-%04x", name, rand.IntN(1<<16)), Image: ref, Env: list,
			Labels: map[string]string{"pyship.run": name}, Port: port, HostPort: hostPort, Restart: "no", StopTimeout: 10})
		if err != nil {
			return err
		}
		restart, err := supervise(ctx, supervision{eng: eng, id: id, port: port, hostPort: hostPort, watch: watch, dir: ctxDir, lastMod: &lastMod, pr: pr, logs: logs, events: events})
		stopCtx := context.WithoutCancel(ctx)
		eng.Stop(stopCtx, id, 10)
		eng.Remove(stopCtx, id)
		if !restart {
			if ctx.Err() != nil {
				pr.logf("stopped and removed the container")
				return events.emit(map[string]any{"event": "stopped", "container_removed": true})
			}
			return err
		}
		pr.logf("source changed: rebuilding")
		if err := events.emit(map[string]any{"event": "rebuilding"}); err != nil {
			return err
		}
	}
}

// supervision is one container's run: what supervise watches and where it reports.
type supervision struct {
	eng            *engine.Client
	id             string
	port, hostPort int
	watch          bool
	dir            string
	lastMod        *time.Time
	pr             *progress
	logs           io.Writer // the app's output
	events         *events
}

// supervise streams the container's logs, reports its URL once it answers, and waits
// for it to exit, for Ctrl-C, or (with watch) for a source change.
func supervise(ctx context.Context, s supervision) (bool, error) {
	eng, id, port, hostPort, pr := s.eng, s.id, s.port, s.hostPort, s.pr
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go eng.StreamLogs(lctx, id, true, "", "all", s.logs)
	url := ""
	start := time.Now()
	client := &http.Client{Timeout: 2 * time.Second}
	listen := &platform.ListenWatch{Port: port}
	lastProgress, reported := start, false
	for {
		st, found, err := eng.Inspect(ctx, id)
		if err != nil || !found {
			return false, errors.Join(err, errors.New("the container is gone"))
		}
		if !st.Running {
			logs, _ := eng.Logs(context.WithoutCancel(ctx), id)
			return false, exitWith(1, fmt.Errorf("the app stopped: %s", platform.CrashDiagnosis(st, logs)))
		}
		if url == "" {
			hp := hostPort
			if hp == 0 {
				hp = publishedPort(ctx, eng, id, port)
			}
			u := fmt.Sprintf("http://127.0.0.1:%d/", hp)
			if resp, err := client.Get(u); err == nil {
				resp.Body.Close()
				url = u
				fmt.Fprintf(pr.w, "\n  → %s  (answered %d after %.1fs; Ctrl-C stops it)\n\n", url, resp.StatusCode, time.Since(start).Seconds())
				if err := s.events.emit(map[string]any{"event": "ready", "url": url, "status": resp.StatusCode, "seconds": time.Since(start).Seconds(), "container": short(id)}); err != nil {
					return false, err
				}
			} else {
				// An app listening only elsewhere (another port, 127.0.0.1) will not
				// change its mind: stop with the fix rather than wait in silence.
				state, diagnosis := listen.Check(st.Pid, time.Now())
				switch {
				case diagnosis != "" && !s.watch:
					return false, exitWith(1, fmt.Errorf("the app does not answer: %s", diagnosis))
				case diagnosis != "" && !reported:
					// With --watch the fix is a source change away: say it once, keep watching.
					reported = true
					pr.logf("the app does not answer: %s; waiting for a source change", diagnosis)
				}
				if time.Since(lastProgress) >= platform.ProgressEvery && !reported {
					lastProgress = time.Now()
					if state == "" {
						state = "no answer yet"
					}
					pr.logf("waiting for the app to answer on %s (%.0fs): %s", u, time.Since(start).Seconds(), state)
				}
			}
		}
		if s.watch {
			if m := newestChange(s.dir); m.After(*s.lastMod) {
				*s.lastMod = m
				return true, nil
			}
		}
		select {
		case <-ctx.Done():
			return false, nil
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func publishedPort(ctx context.Context, eng *engine.Client, id string, port int) int {
	p, err := eng.HostPort(ctx, id, port)
	if err != nil {
		return 0
	}
	return p
}

// newestChange is the latest modification time of the files the build would send.
func newestChange(dir string) time.Time {
	var newest time.Time
	c, err := buildctx.OpenWithDefault(dir, scaffold.IgnorePatterns())
	if err != nil {
		return newest
	}
	files, _ := c.Files()
	for _, f := range files {
		if st, err := os.Stat(filepath.Join(dir, f)); err == nil && st.ModTime().After(newest) {
			newest = st.ModTime()
		}
	}
	return newest
}

// events writes run's --json events, one JSON object per line; without --json they
// are not written (the text progress says the same on stderr).
type events struct {
	on bool
	w  io.Writer
}

func newEvents(on bool, w io.Writer) *events { return &events{on: on, w: w} }

func (e *events) emit(v any) error {
	if !e.on {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.w, "%s\n", b)
	return err
}
