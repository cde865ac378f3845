// Command hello is the app the real-node test deploys: a static HTTP server (it runs FROM scratch,
// as a non-root user, on a read-only root) that names the pod answering and logs each request, so
// the test can tell the replicas apart through the Service and find its requests in the pods' logs.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	host, _ := os.Hostname()
	// HELLO_EXIT makes it a crashing app (the rollout waiter's crash-loop branch).
	if code := os.Getenv("HELLO_EXIT"); code != "" {
		log.Printf("hello: told to exit with %s", code)
		n, _ := strconv.Atoi(code)
		os.Exit(n)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		log.Printf("hello: %s %s from %s", r.Method, r.URL.Path, r.RemoteAddr)
		fmt.Fprintf(w, "hello from %s\n", host)
	})
	srv := &http.Server{
		Addr:              ":8080",
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       30 * time.Second,
	}
	log.Printf("hello: %s listening on %s", host, srv.Addr)
	log.Fatal(srv.ListenAndServe())
}
