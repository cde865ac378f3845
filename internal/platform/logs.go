package platform

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pyship/pyship/internal/store"
)

// LogOptions select what Logs shows.
type LogOptions struct {
	Revision string // "" for all
	Follow   bool
	Since    string // duration ("10m") or RFC 3339
	Tail     int    // lines per replica; 0 for all
}

// Logs merges the output of an app's replicas, each line prefixed with its revision and
// replica and the engine's timestamp. Without Follow the lines are sorted by time;
// with Follow they print as they come, and replicas started later (a deploy, a
// restart) join the stream.
func (p *Platform) Logs(ctx context.Context, app *store.App, o LogOptions, w io.Writer) error {
	rev := ""
	if o.Revision != "" {
		r := app.Revision(o.Revision)
		if r == nil {
			return fmt.Errorf("app %s has no revision %s", app.Name, o.Revision)
		}
		rev = r.Name
	}
	tailArg := "all"
	if o.Tail > 0 {
		tailArg = fmt.Sprint(o.Tail)
	}
	var mu sync.Mutex
	var lines []string
	emit := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		if o.Follow {
			fmt.Fprintln(w, line)
		} else {
			lines = append(lines, line)
		}
	}
	attached := map[string]bool{}
	var wg sync.WaitGroup
	attach := func() error {
		cs, err := p.replicas(ctx, app.Name, rev)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if attached[c.ID] {
				continue
			}
			attached[c.ID] = true
			prefix := fmt.Sprintf("[%s/%s]", short(c.Labels[LabelRevision]), c.Labels[LabelReplica])
			since := o.Since
			wg.Add(1)
			go func(id string) {
				defer wg.Done()
				pr, pw := io.Pipe()
				go func() {
					pw.CloseWithError(p.Engine.StreamLogs(ctx, id, o.Follow, since, tailArg, pw))
				}()
				sc := bufio.NewScanner(pr)
				sc.Buffer(make([]byte, 64*1024), 1<<20)
				for sc.Scan() {
					ts, text, ok := strings.Cut(sc.Text(), " ")
					if !ok {
						ts, text = "", sc.Text()
					}
					emit(ts + " " + prefix + " " + text)
				}
				pr.Close()
			}(c.ID)
		}
		return nil
	}
	if err := attach(); err != nil {
		return err
	}
	if o.Follow {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				wg.Wait()
				return nil
			case <-t.C:
				if err := attach(); err != nil {
					return err
				}
			}
		}
	}
	wg.Wait()
	sort.SliceStable(lines, func(i, j int) bool { return lines[i] < lines[j] })
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	return nil
}
