// Package scaffold writes a project's container files (Dockerfile, .dockerignore,
// compose.yaml) from its Plan. Rendering is pure; Write never overwrites a file without
// force and replaces files atomically (temporary file, then rename).
package scaffold
