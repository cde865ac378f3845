// Package pyproject reads the files a Python project declares its dependencies and
// interpreter in: requirements files (with -r/-c includes and pip options), pyproject.toml
// (PEP 621, Poetry, PDM, uv, Hatch, Flit, setuptools), Pipfile and Pipfile.lock, and the
// lock files of uv, Poetry, PDM and PEP 751. It also holds the PEP 503 name normalisation,
// a PEP 508 requirement reader and the PEP 440 specifier subset used to choose a Python
// version. Every reader takes untrusted input: errors name the file and line, never panic.
package pyproject
