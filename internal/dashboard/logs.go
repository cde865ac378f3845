package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// logs streams the app's log lines as server-sent events, one JSON line per event,
// flushed as each comes: the page's live view (EventSource) shows it within the
// engine's own delay.
func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	tail := 100
	if n, err := strconv.Atoi(r.URL.Query().Get("tail")); err == nil && n >= 0 && n <= 10000 {
		tail = n
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": pyship logs\n\n")
	fl.Flush()
	err := s.Src.Logs(r.Context(), r.PathValue("name"), tail, func(l LogLine) error {
		b, _ := json.Marshal(l)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return err
		}
		fl.Flush()
		return nil
	})
	if err != nil && r.Context().Err() == nil {
		b, _ := json.Marshal(map[string]string{"message": err.Error()})
		fmt.Fprintf(w, "event: failure\ndata: %s\n\n", b)
		fl.Flush()
	}
}
