package marker

import "testing"

var linux311 = Env{
	"os_name": "posix", "sys_platform": "linux", "platform_machine": "x86_64",
	"platform_python_implementation": "CPython", "platform_system": "Linux",
	"python_version": "3.11", "python_full_version": "3.11.2", "implementation_name": "cpython",
	"implementation_version": "3.11.2",
}

func TestEval(t *testing.T) {
	cases := []struct {
		marker, extra string
		want          bool
	}{
		{`python_version >= "3.8"`, "", true},
		{`python_version < "3.8"`, "", false},
		{`python_version == "3.1"`, "", false},
		{`python_full_version >= "3.11.1"`, "", true},
		{`python_version ~= "3.10"`, "", true},
		{`sys_platform == "win32"`, "", false},
		{`sys_platform != "win32" and platform_machine == "x86_64"`, "", true},
		{`os_name == "nt" or (python_version > "3.7" and implementation_name == "cpython")`, "", true},
		{`"linux" in sys_platform`, "", true},
		{`"arm" not in platform_machine`, "", true},
		{`extra == "Standard"`, "standard", true},
		{`extra == "dev"`, "", false},
		{`python_version >= "3.6" and extra == "socks"`, "socks", true},
		{`platform_python_implementation=='PyPy'`, "", false},
		{`sys.platform == "linux"`, "", true},
		{`'3.12' > python_version`, "", true},
		{`platform_system >= "Linux"`, "", true},
		{`platform_system > "Linux"`, "", false},
	}
	for _, c := range cases {
		got, err := Eval(c.marker, linux311, c.extra)
		if err != nil {
			t.Fatalf("%s: %v", c.marker, err)
		}
		if got != c.want {
			t.Errorf("%s (extra %q) = %v, want %v", c.marker, c.extra, got, c.want)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, bad := range []string{`python_version >=`, `foo == "1"`, `python_version >= "3.8" and`, `(python_version > "3")`[1:], `python_version => "3"`, `"a" not "b"`, `python_version == "3`} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, err := Eval(`platform_release >= "5"`, linux311, ""); err == nil {
		t.Error("a variable unknown for the target must be an error, not a guess")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(`python_version >= "3.8" and (sys_platform == "linux" or extra == "x")`)
	f.Add(`"a" not in os_name`)
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s)
		if err != nil {
			return
		}
		_, _ = m.Eval(linux311, "x")
	})
}
