package localplane

import "time"

// SetKeepAlive shortens the SSE keep-alive interval for tests.
func SetKeepAlive(s *Server, d time.Duration) { s.keepAlive = d }
