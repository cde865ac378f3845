package azure

import "testing"

// after finds where new lines begin even when the service dropped the oldest ones,
// and starts over when the container restarted.
func TestAfter(t *testing.T) {
	for _, tc := range []struct {
		lines, seen []string
		want        int
	}{
		{[]string{"a", "b", "c", "d"}, []string{"a", "b"}, 2},
		{[]string{"c", "d", "e"}, []string{"a", "b", "c", "d"}, 2},        // a and b dropped
		{[]string{"x", "y"}, []string{"a", "b"}, 0},                       // restarted
		{[]string{"ok", "ok", "ok", "ok"}, []string{"ok", "ok", "ok"}, 4}, // repeated lines: the last match
		{[]string{"a"}, []string{"a"}, 1},
	} {
		if got := after(tc.lines, tc.seen); got != tc.want {
			t.Errorf("after(%q, %q) = %d, want %d", tc.lines, tc.seen, got, tc.want)
		}
	}
}

// The Resource Manager token goes only to the host Azure marks as the site's
// Repository (Kudu) host, never to a custom domain that looks like one.
func TestSCMHost(t *testing.T) {
	site := `{"properties":{"enabledHostNames":["shop.scm.evil.example","shop.azurewebsites.net","shop.scm.azurewebsites.net"],
	  "hostNameSslStates":[{"name":"shop.scm.evil.example","hostType":"Standard"},{"name":"shop.scm.azurewebsites.net","hostType":"Repository"}]}}`
	if got := scmHost([]byte(site)); got != "shop.scm.azurewebsites.net" {
		t.Errorf("scmHost = %q", got)
	}
	old := `{"properties":{"enabledHostNames":["shop.scm.evil.example","shop.scm.azurewebsites.net"]}}`
	if got := scmHost([]byte(old)); got != "shop.scm.azurewebsites.net" {
		t.Errorf("scmHost without ssl states = %q", got)
	}
	if got := scmHost([]byte(`{"properties":{"enabledHostNames":["shop.scm.evil.example"]}}`)); got != "" {
		t.Errorf("a custom domain was taken: %q", got)
	}
}
