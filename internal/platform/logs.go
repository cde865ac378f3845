package platform

import (
	"bufio"
	"context"
	"encoding/json"
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
	// JSON prints each line as a JSON object of its own (JSON Lines) with the full
	// revision name, for scripts; the text form shortens it.
	JSON bool
}

// LogLine is one line of a replica's output, as Logs prints it with JSON.
type LogLine struct {
	Time     string `json:"time"`
	Revision string `json:"revision"`
	Replica  string `json:"replica"`
	Message  string `json:"message"`
}

// Format renders a line as text or as one JSON object.
func (o LogOptions) Format(l LogLine) string {
	if o.JSON {
		b, _ := json.Marshal(l)
		return string(b)
	}
	return fmt.Sprintf("%s [%s/%s] %s", l.Time, short(l.Revision), l.Replica, l.Message)
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
	var mu sync.Mutex
	var lines []LogLine
	emit := func(line LogLine) {
		mu.Lock()
		defer mu.Unlock()
		if o.Follow {
			fmt.Fprintln(w, o.Format(line))
		} else {
			lines = append(lines, line)
		}
	}
	attached := map[string]bool{}
	var wg sync.WaitGroup
	attach := func() error {
		cs, err := p.rt().List(ctx, app.Name)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if attached[c.ID] || (rev != "" && c.Revision != rev) {
				continue
			}
			attached[c.ID] = true
			revision, replica := c.Revision, c.Index
			wg.Add(1)
			go func(c Replica) {
				defer wg.Done()
				pr, pw := io.Pipe()
				go func() {
					pw.CloseWithError(p.rt().Logs(ctx, c, o, pw))
				}()
				sc := bufio.NewScanner(pr)
				sc.Buffer(make([]byte, 64*1024), 1<<20)
				for sc.Scan() {
					ts, text, ok := strings.Cut(sc.Text(), " ")
					if !ok {
						ts, text = "", sc.Text()
					}
					emit(LogLine{Time: ts, Revision: revision, Replica: replica, Message: text})
				}
				pr.Close()
			}(c)
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
	sort.SliceStable(lines, func(i, j int) bool {
		a, b := lines[i], lines[j]
		if a.Time != b.Time {
			return a.Time < b.Time
		}
		return o.Format(a) < o.Format(b)
	})
	for _, l := range lines {
		fmt.Fprintln(w, o.Format(l))
	}
	return nil
}
