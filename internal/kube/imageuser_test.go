package kube

import "testing"

func TestNumericUser(t *testing.T) {
	for _, tc := range []struct {
		in       string
		uid, gid int64
		err      bool
	}{
		{in: "10001", uid: 10001, gid: 10001},
		{in: "10001:20", uid: 10001, gid: 20},
		{in: "0", uid: 0, gid: 0}, // root: runAsNonRoot refuses it at the kubelet
		{in: ""},
		{in: "app"},     // a name: left to the image (the kubelet checks runAsNonRoot)
		{in: "app:100"}, // a name with a group: the same
		{in: "10001:staff", uid: 10001, gid: 10001},
		{in: "-1", err: true},
		{in: "-1:5", err: true},
		{in: "5:-1", err: true},
		{in: "-1:staff", err: true},
	} {
		uid, gid, err := numericUser(tc.in)
		if tc.err {
			if err == nil {
				t.Errorf("numericUser(%q) = %d, %d; want an error", tc.in, uid, gid)
			}
			continue
		}
		if err != nil || uid != tc.uid || gid != tc.gid {
			t.Errorf("numericUser(%q) = %d, %d, %v; want %d, %d", tc.in, uid, gid, err, tc.uid, tc.gid)
		}
	}
}
