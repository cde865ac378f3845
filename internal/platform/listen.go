package platform

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Listener is a listening TCP socket in a container's network namespace.
type Listener struct {
	IP   string
	Port int
}

func (l Listener) String() string {
	if strings.Contains(l.IP, ":") {
		return fmt.Sprintf("[%s]:%d", l.IP, l.Port)
	}
	return fmt.Sprintf("%s:%d", l.IP, l.Port)
}

// dockerDNS is the address of the engine's embedded DNS server, which listens (TCP on a
// random port) inside every container on a user-defined network such as NetworkName:
// it is the engine's, never the app's, and was once suggested as the app's --port.
const dockerDNS = "127.0.0.11"

// maxListeners bounds what is read of a namespace's socket tables.
const maxListeners = 4096

// Listeners reads the listening sockets of the process pid's network namespace from
// /proc/PID/net/tcp{,6}, less the engine's own DNS listener. ok is false when the tables
// cannot be read (the engine runs in a VM, as Docker Desktop's does, or the process is
// gone): then nothing is known.
func Listeners(pid int) (ls []Listener, ok bool) {
	if pid <= 0 {
		return nil, false
	}
	for _, f := range []string{"tcp", "tcp6"} {
		fh, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, f))
		if err != nil {
			continue
		}
		ok = true
		ls = append(ls, parseListeners(fh)...)
		fh.Close()
	}
	return ls, ok
}

// parseListeners reads one /proc/net/tcp table: the LISTEN rows, without the DNS
// listener.
func parseListeners(r io.Reader) []Listener {
	var out []Listener
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	for sc.Scan() && len(out) < maxListeners {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[3] != "0A" { // 0A = LISTEN
			continue
		}
		host, ph, _ := strings.Cut(fields[1], ":")
		pn, err := strconv.ParseUint(ph, 16, 16)
		if err != nil {
			continue
		}
		l := Listener{hexIP(host), int(pn)}
		if l.IP == dockerDNS {
			continue
		}
		out = append(out, l)
	}
	return out
}

func isLoopback(ip string) bool { return strings.HasPrefix(ip, "127.") || ip == "::1" }

// ListenDiagnosis explains, from the replica's listening sockets, why its port does
// not answer: an app bound to 127.0.0.1 or to another port is named as such.
func ListenDiagnosis(pid, port int) string {
	if pid == 0 {
		return "it is not running"
	}
	ls, _ := Listeners(pid)
	return diagnoseListeners(ls, port)
}

// diagnoseListeners is ListenDiagnosis on a known set of sockets.
func diagnoseListeners(ls []Listener, port int) string {
	if len(ls) == 0 {
		return fmt.Sprintf("it listens on no TCP port; the app should listen on 0.0.0.0:%d (PORT)", port)
	}
	if d, ok := Misplaced(ls, port); ok {
		return d
	}
	return fmt.Sprintf("it listens on port %d but does not answer HTTP", port)
}

// Misplaced reports an app that listens, but not where it can be reached: on port only
// on a loopback address, or only on other ports. Nothing listening at all is not
// misplaced (the app may still be starting), nor is a reachable listener on port.
func Misplaced(ls []Listener, port int) (string, bool) {
	var loopOnPort *Listener
	var others, reachable []Listener
	for i, l := range ls {
		switch {
		case l.Port == port && !isLoopback(l.IP):
			return "", false
		case l.Port == port:
			loopOnPort = &ls[i]
		default:
			others = append(others, l)
			if !isLoopback(l.IP) {
				reachable = append(reachable, l)
			}
		}
	}
	if loopOnPort != nil {
		return fmt.Sprintf("it listens on %s only, which nothing outside the container reaches: bind 0.0.0.0 (gunicorn --bind 0.0.0.0:$PORT, uvicorn --host 0.0.0.0, flask run --host 0.0.0.0)", loopOnPort), true
	}
	if len(others) == 0 {
		return "", false
	}
	sort.Slice(others, func(i, j int) bool { return others[i].String() < others[j].String() })
	var list []string
	for _, l := range others {
		list = append(list, l.String())
	}
	if len(reachable) == 0 {
		return fmt.Sprintf("it listens on %s, not on port %d, and only on a loopback address: make the server listen on 0.0.0.0:$PORT (PORT is %d)", strings.Join(list, ", "), port, port), true
	}
	// The suggested port is one the app can be reached on; the lowest, as a server's
	// main port usually is (a second one is an admin or metrics port).
	sort.Slice(reachable, func(i, j int) bool { return reachable[i].Port < reachable[j].Port })
	return fmt.Sprintf("it listens on %s, not on port %d: make the server use $PORT (PORT is %d), or pass --port %d", strings.Join(list, ", "), port, port, reachable[0].Port), true
}

func hexIP(h string) string {
	switch len(h) {
	case 8:
		b, _ := hex.DecodeString(h)
		if len(b) == 4 {
			return fmt.Sprintf("%d.%d.%d.%d", b[3], b[2], b[1], b[0])
		}
	case 32:
		if h == "00000000000000000000000001000000" {
			return "::1"
		}
		if strings.Trim(h, "0") == "" {
			return "::"
		}
		if strings.HasPrefix(h, "0000000000000000FFFF0000") {
			return hexIP(h[24:])
		}
		return "[" + h + "]"
	}
	return h
}

// MisplacedFor is how long an app must listen in the wrong place, with nothing on its
// port, before a wait gives up on it: long enough for a server that opens another
// socket (an admin or metrics port) before its main one, far shorter than the start
// timeout that used to be the only way such an app was reported.
const MisplacedFor = 3 * time.Second

// ListenWatch follows the sockets of a starting app whose port does not answer yet.
type ListenWatch struct {
	Port  int
	For   time.Duration // MisplacedFor when zero
	since time.Time     // when the current misplacement was first seen
}

// Check reads the app's sockets (pid: the container's process on this machine) and
// returns a short state for progress lines and, once the app has listened only in the
// wrong place for For, the diagnosis to fail with. Unreadable sockets give "", "".
func (w *ListenWatch) Check(pid int, now time.Time) (state, diagnosis string) {
	ls, ok := Listeners(pid)
	if !ok {
		w.since = time.Time{}
		return "", ""
	}
	d, bad := Misplaced(ls, w.Port)
	if !bad {
		w.since = time.Time{}
		if len(ls) == 0 {
			return "nothing listens yet", ""
		}
		return fmt.Sprintf("it listens on port %d but has not answered HTTP yet", w.Port), ""
	}
	if w.since.IsZero() {
		w.since = now
	}
	limit := w.For
	if limit == 0 {
		limit = MisplacedFor
	}
	if now.Sub(w.since) >= limit {
		return d, d
	}
	return d, ""
}
