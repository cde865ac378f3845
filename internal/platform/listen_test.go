package platform

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// A replica on the pyship network: the engine's DNS listens on 127.0.0.11 (here on
// 40127 = 0x9CBF) beside the app's 0.0.0.0:8000 (0x1F40).
const procTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0B00007F:9CBF 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 2 1 0000000000000000 100 0 0 10 0
   2: 0200A8C0:1F40 0300A8C0:C350 01 00000000:00000000 00:00000000 00000000  1000        0 3 1 0000000000000000 20 4 30 10 -1
`

func TestListenersLeaveOutTheEngineDNS(t *testing.T) {
	ls := parseListeners(strings.NewReader(procTCP))
	if len(ls) != 1 || ls[0] != (Listener{"0.0.0.0", 8000}) {
		t.Fatalf("listeners %v, want only 0.0.0.0:8000", ls)
	}
	d := diagnoseListeners(ls, 5000)
	if !strings.Contains(d, "--port 8000") || strings.Contains(d, "127.0.0.11") || strings.Contains(d, "40127") {
		t.Errorf("diagnosis %q: want --port 8000 and no word of the DNS listener", d)
	}
	// Only the DNS listener: the app listens nowhere, and no port is suggested.
	only := parseListeners(strings.NewReader(strings.Join(strings.Split(procTCP, "\n")[:2], "\n")))
	if d := diagnoseListeners(only, 5000); !strings.Contains(d, "listens on no TCP port") || strings.Contains(d, "--port") {
		t.Errorf("DNS listener only: %q", d)
	}
}

func TestMisplaced(t *testing.T) {
	for _, c := range []struct {
		ls   []Listener
		port int
		want string // "" when not misplaced
	}{
		{nil, 5000, ""},
		{[]Listener{{"0.0.0.0", 5000}}, 5000, ""},
		{[]Listener{{"::", 5000}, {"127.0.0.1", 9000}}, 5000, ""},
		{[]Listener{{"127.0.0.1", 5000}}, 5000, "127.0.0.1:5000 only"},
		{[]Listener{{"::1", 5000}}, 5000, "[::1]:5000 only"},
		{[]Listener{{"0.0.0.0", 8000}}, 5000, "--port 8000"},
		{[]Listener{{"0.0.0.0", 9100}, {"0.0.0.0", 8000}}, 5000, "--port 8000"},
		{[]Listener{{"127.0.0.1", 8000}}, 5000, "only on a loopback address"},
	} {
		d, bad := Misplaced(c.ls, c.port)
		if bad != (c.want != "") || !strings.Contains(d, c.want) {
			t.Errorf("%v port %d: %q %v, want %q", c.ls, c.port, d, bad, c.want)
		}
	}
}

// ListenWatch gives up only once the misplacement has held for its time, and starts
// over when the app listens where it must. It reads this test's own socket table.
func TestListenWatchWaitsBeforeDiagnosing(t *testing.T) {
	other, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	free, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	port := free.Addr().(*net.TCPAddr).Port
	free.Close()
	w := &ListenWatch{Port: port, For: time.Second}
	t0 := time.Now()
	if state, d := w.Check(os.Getpid(), t0); d != "" || !strings.Contains(state, "not on port") {
		t.Fatalf("at once: state %q, diagnosis %q; want a state and no diagnosis yet", state, d)
	}
	if _, d := w.Check(os.Getpid(), t0.Add(500*time.Millisecond)); d != "" {
		t.Fatalf("diagnosed after 0.5s of 1s: %q", d)
	}
	if _, d := w.Check(os.Getpid(), t0.Add(time.Second)); !strings.Contains(d, "not on port") {
		t.Fatalf("after 1s: diagnosis %q", d)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("0.0.0.0:%d", port))
	if err != nil {
		t.Skipf("port %d was taken meanwhile: %v", port, err)
	}
	defer l.Close()
	if state, d := w.Check(os.Getpid(), t0.Add(2*time.Second)); d != "" || !strings.Contains(state, "has not answered") {
		t.Fatalf("listening on the port: state %q, diagnosis %q", state, d)
	}
	if _, d := w.Check(0, t0.Add(3*time.Second)); d != "" {
		t.Errorf("no process: diagnosis %q", d)
	}
}
