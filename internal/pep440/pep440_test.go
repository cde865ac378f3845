package pep440

import "testing"

// The ordered list from pypa/packaging's tests/test_version.py (VERSIONS), every
// entry strictly greater than the one before it.
var ordered = []string{
	"1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
	"1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345",
	"1.0b2-346", "1.0c1.dev456", "1.0c1", "1.0rc2", "1.0c3", "1.0",
	"1.0.post456.dev34", "1.0.post456", "1.1.dev1",
	"1.2+123abc", "1.2+123abc456", "1.2+abc", "1.2+abc123", "1.2+abc123def",
	"1.2+1234.abc", "1.2+123456",
	"1.2.r32+123456", "1.2.rev33+123456",
	"1!1.0b2.post345.dev456", "1!1.0b2.post345", "1!1.0",
	"1!1.2.r32+123456",
}

func TestOrdering(t *testing.T) {
	for i := 1; i < len(ordered); i++ {
		a, b := MustParse(ordered[i-1]), MustParse(ordered[i])
		if a.Compare(b) >= 0 || b.Compare(a) <= 0 {
			t.Errorf("want %s < %s", ordered[i-1], ordered[i])
		}
	}
}

func TestNormalise(t *testing.T) {
	for in, want := range map[string]string{
		"1.0":                 "1.0",
		"v1.0":                "1.0",
		"1.0-alpha1":          "1.0a1",
		"1.0.beta.2":          "1.0b2",
		"1.0c1":               "1.0rc1",
		"1.0-1":               "1.0.post1",
		"1.0.rev.3":           "1.0.post3",
		"1.0-dev":             "1.0.dev0",
		"1.0+Ubuntu-1":        "1.0+ubuntu.1",
		"0!1.0":               "1.0",
		"2!3.0RC4.POST5.DEV6": "2!3.0rc4.post5.dev6",
	} {
		v, err := Parse(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if v.String() != want {
			t.Errorf("%s → %s, want %s", in, v, want)
		}
	}
	for _, bad := range []string{"", "1.0+", "french toast", "1.0+_foo", "1..0", "1.0-", "=1.0"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if !MustParse("1.0").Equal(MustParse("1.0.0.0")) {
		t.Error("zero padding")
	}
}

// Cases from pypa/packaging's tests/test_specifiers.py.
func TestSpecifiers(t *testing.T) {
	cases := []struct {
		version, spec string
		want          bool
	}{
		{"2.0", "==2", true}, {"2.0", "==2.0", true}, {"2.0", "==2.0.0", true},
		{"2.0+deadbeef", "==2", true}, {"2.0+deadbeef", "==2.0+deadbeef", true},
		{"2.0", "==2.0+deadbeef", false}, {"2.1", "==2.0", false},
		{"2.0", "==2.*", true}, {"2.0.0", "==2.*", true}, {"2.1", "==2.0.*", false},
		{"2.0rc1", "==2.0.*", true}, {"3.0", "==2.*", false}, {"2.1.0", "==2.*", true},
		{"2.0", "!=2.0.*", false}, {"2.1", "!=2.0.*", true}, {"2.0.1", "!=2", true},
		{"2.0", "~=2.0", true}, {"2.1", "~=2.0", true}, {"3.0", "~=2.0", false},
		{"2.0.5", "~=2.0.4", true}, {"2.1.0", "~=2.0.4", false}, {"2.0.3", "~=2.0.4", false},
		{"2.0", "<=2.0", true}, {"2.0+local", "<=2.0", true}, {"2.0", ">=2.0", true},
		{"1.9", "<2", true}, {"2.0", "<2", false}, {"2.0.dev1", "<2", false}, {"2.0a1", "<2.0", false},
		{"2.0b1", "<2.0rc1", true}, {"1.0rc1", "<2.0", true},
		{"3.1", ">3", true}, {"3.0", ">3", false}, {"3.0.post1", ">3", false}, {"3.0.post2", ">3.0.post1", true},
		{"3.0+local", ">3", false}, {"3.1.dev0", ">3", true},
		{"2.0", "===2.0", true}, {"2.0.0", "===2.0", false}, {"foobar", "===foobar", false},
		{"1.5", ">=1.0,<2.0,!=1.5", false}, {"1.6", ">=1.0,<2.0,!=1.5", true},
	}
	for _, c := range cases {
		set, err := ParseSet(c.spec)
		if err != nil {
			t.Fatalf("%s: %v", c.spec, err)
		}
		v, err := Parse(c.version)
		if err != nil {
			if c.want {
				t.Fatalf("%s: %v", c.version, err)
			}
			continue
		}
		if got := set.Contains(v); got != c.want {
			t.Errorf("%s in %s = %v, want %v", c.version, c.spec, got, c.want)
		}
	}
	for _, bad := range []string{"~=1", ">=1.0.*", "<1.0+local", "=>1", "==", ">=1.0,,<2", "~= 1.0 .*"} {
		if _, err := ParseSet(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestPrereleasePolicy(t *testing.T) {
	set, _ := ParseSet(">=1.0")
	if set.Allows(MustParse("2.0b1"), false) {
		t.Error("pre-release admitted without opt-in")
	}
	if !set.Allows(MustParse("2.0b1"), true) {
		t.Error("--pre ignored")
	}
	named, _ := ParseSet(">=2.0b1")
	if !named.Allows(MustParse("2.0b2"), false) {
		t.Error("a specifier naming a pre-release opts in")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range ordered {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(v.String())
		if err != nil || !again.Equal(v) {
			t.Fatalf("%q → %q does not round-trip (%v)", s, v, err)
		}
		_, _ = ParseSet(">=" + s + ",!=" + s)
	})
}
