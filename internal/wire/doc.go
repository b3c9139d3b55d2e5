// Package wire holds the bodies of the Jamsocket and Plane HTTP APIs that
// no user of the SDK holds: error shapes, request bodies the SDK builds
// itself, Plane's connect and status wire, and the small answers of the
// account API. The SDK's request path decodes and encodes them, and the
// local plane answers with them, so both sides share one definition. What
// users hold (requests, responses, states, reasons, infos) is in package
// types.
package wire
