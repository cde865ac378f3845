package plan

import "strings"

// stdlibModules are the top-level modules of CPython's standard library: the union of
// sys.stdlib_module_names of 3.10 to 3.13 (the private _modules left out: an app does not
// import them), generated with
//
//	python3.X -c "import sys; print(*sorted(sys.stdlib_module_names))"
//
// plus what 3.14 adds. An import of one of these needs no dependency, unless the
// project's Python has not got it yet or no longer has it (stdlibSince, stdlibUntil).
var stdlibModules = map[string]bool{}

func init() {
	for _, m := range strings.Fields(`
__future__ abc aifc antigravity argparse array ast asynchat asyncio asyncore atexit
audioop base64 bdb binascii binhex bisect builtins bz2 cProfile calendar cgi cgitb chunk
cmath cmd code codecs codeop collections colorsys compileall concurrent configparser
contextlib contextvars copy copyreg crypt csv ctypes curses dataclasses datetime dbm
decimal difflib dis distutils doctest email encodings ensurepip enum errno faulthandler
fcntl filecmp fileinput fnmatch fractions ftplib functools gc genericpath getopt getpass
gettext glob graphlib grp gzip hashlib heapq hmac html http idlelib imaplib imghdr imp
importlib inspect io ipaddress itertools json keyword lib2to3 linecache locale logging
lzma mailbox mailcap marshal math mimetypes mmap modulefinder msilib msvcrt
multiprocessing netrc nis nntplib nt ntpath nturl2path numbers opcode operator optparse
os ossaudiodev pathlib pdb pickle pickletools pipes pkgutil platform plistlib poplib
posix posixpath pprint profile pstats pty pwd py_compile pyclbr pydoc pydoc_data pyexpat
queue quopri random re readline reprlib resource rlcompleter runpy sched secrets select
selectors shelve shlex shutil signal site smtpd smtplib sndhdr socket socketserver spwd
sqlite3 sre_compile sre_constants sre_parse ssl stat statistics string stringprep struct
subprocess sunau symtable sys sysconfig syslog tabnanny tarfile telnetlib tempfile
termios textwrap this threading time timeit tkinter token tokenize tomllib trace
traceback tracemalloc tty turtle turtledemo types typing unicodedata unittest urllib uu
uuid venv warnings wave weakref webbrowser winreg winsound wsgiref xdrlib xml xmlrpc
zipapp zipfile zipimport zlib zoneinfo
annotationlib compression`) {
		stdlibModules[m] = true
	}
}

// stdlibSince are modules added after 3.8 (the oldest Python pyship builds for), with
// the first minor that has them.
var stdlibSince = map[string]string{
	"zoneinfo": "3.9", "graphlib": "3.9", "tomllib": "3.11", "annotationlib": "3.14", "compression": "3.14",
}

// stdlibUntil are modules removed since 3.8 (PEP 594 and the 3.12 removals), with the
// first minor that no longer has them.
var stdlibUntil = map[string]string{
	"binhex":   "3.11",
	"asynchat": "3.12", "asyncore": "3.12", "distutils": "3.12", "imp": "3.12", "smtpd": "3.12",
	"aifc": "3.13", "audioop": "3.13", "cgi": "3.13", "cgitb": "3.13", "chunk": "3.13", "crypt": "3.13",
	"imghdr": "3.13", "lib2to3": "3.13", "mailcap": "3.13", "msilib": "3.13", "nis": "3.13",
	"nntplib": "3.13", "ossaudiodev": "3.13", "pipes": "3.13", "sndhdr": "3.13", "spwd": "3.13",
	"sunau": "3.13", "telnetlib": "3.13", "uu": "3.13", "xdrlib": "3.13",
}
