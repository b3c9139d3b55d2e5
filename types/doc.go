// Package types holds what users of the Jamsocket and Plane HTTP APIs hold:
// connect requests and responses, backend states, statuses and termination
// reasons, backend and service information, and the executable a Plane
// client configures, exact to the JSON the servers send and accept.
//
// Most programs never import it directly: package jamsocket re-exports every
// type and constant here as an alias. It exists on its own so that servers
// (such as the local plane) and clients share one definition of what users
// see. The bodies no user holds (error shapes, Plane's connect wire, the
// account API's small answers, the time codecs) are internal to the module.
//
// Decoding is deliberately lenient where real servers differ: times arrive as
// ISO-8601 strings (Jamsocket) or epoch milliseconds (Plane), termination
// reasons in two spellings, and unknown statuses or reasons are kept as their
// strings instead of failing. Encoding always produces the canonical form.
package types
