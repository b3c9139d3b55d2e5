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
