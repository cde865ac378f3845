package imageref

import "testing"

func TestTag(t *testing.T) {
	for in, want := range map[string]string{
		"pyship-demo/flask":            "pyship-demo/flask:latest",
		"myapp":                        "myapp:latest",
		"myapp:1.2":                    "myapp:1.2",
		"docker.io/library/myapp:v1":   "myapp:v1",
		"localhost:5000/team/app":      "localhost:5000/team/app:latest",
		"registry.example.com/a/b:c-d": "registry.example.com/a/b:c-d",
	} {
		if got, err := Tag(in); err != nil || got != want {
			t.Errorf("Tag(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "Bad Tag!", "MyApp", "app@sha256:" + "0123456789012345678901234567890123456789012345678901234567890123", "a:b:c"} {
		if got, err := Tag(bad); err == nil {
			t.Errorf("Tag(%q) = %q, want an error", bad, got)
		}
	}
	d := "app@sha256:0123456789012345678901234567890123456789012345678901234567890123"
	if got, err := Ref(d); err != nil || got != d {
		t.Errorf("Ref(%q) = %q, %v", d, got, err)
	}
	if got, _ := Ref("app"); got != "app:latest" {
		t.Errorf("Ref(app) = %q", got)
	}
}
