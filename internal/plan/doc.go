// Package plan detects a Python web project and describes it as a Plan: the framework, the
// WSGI/ASGI entry point, the Python version, the dependency files, the server command, the
// port, the Django settings and the services and environment the app expects. Every later
// step (scaffold, check, build, run, deploy) reads the Plan instead of looking again.
//
// Detection is pure (it reads an fs.FS and never the host), explains every decision with
// the file, line and rule behind it, and refuses with the candidates when the evidence is
// missing or ambiguous: a confident wrong entry point is worse than a question.
package plan
