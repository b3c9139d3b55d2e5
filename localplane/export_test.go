package localplane

import "time"

// SetKeepAlive shortens the SSE keep-alive interval for tests.
func SetKeepAlive(s *Server, d time.Duration) { s.sse.keepAlive = d }

// SetTimeouts shortens the connection timeouts for tests; call before Start.
func SetTimeouts(s *Server, header, idle, apiBody, proxyBodyIdle time.Duration) {
	s.timeouts = timeouts{header: header, idle: idle, apiBody: apiBody, proxyBodyIdle: proxyBodyIdle}
}

// SetBounds lowers the registry's bounds for tests; call before Start.
func SetBounds(s *Server, live, retained, tokens int) {
	s.reg.bounds = registryBounds{live: live, retained: retained, tokens: tokens, tokenBytes: maxTokenBytesPerBackend}
}

// CodeLoadingEnv is the list of names process backends refuse in
// executable.env.
func CodeLoadingEnv() []string { return codeLoadingEnv[:] }

// SetPortSource replaces how the process runner asks for a free port (by
// default FreePort); call before Start, on a server with a Command.
func SetPortSource(s *Server, source func() (int, error)) {
	s.runner.(*processRunner).ports.free = source
}

// FreePort is a loopback port the OS says is free.
func FreePort() (int, error) { return freePort() }

// WarmPIDs are the process ids of the warm pool's backends not taken yet,
// those that said Warmed first.
func WarmPIDs(s *Server) (ready, warming []int) {
	wp := s.core.pool
	wp.mu.Lock()
	defer wp.mu.Unlock()
	for _, w := range wp.ready {
		ready = append(ready, w.st.pid)
	}
	for w := range wp.warming {
		warming = append(warming, w.st.pid)
	}
	return ready, warming
}

// WarmImages are the images the warm pool's backends not taken run.
func WarmImages(s *Server) []string {
	wp := s.core.pool
	wp.mu.Lock()
	defer wp.mu.Unlock()
	var out []string
	for _, w := range wp.ready {
		out = append(out, w.st.image)
	}
	for w := range wp.warming {
		out = append(out, w.st.image)
	}
	return out
}
