// Package otelattr holds the OpenTelemetry names the SDK and the local plane
// share, so that a backend's id, status and an operation's outcome carry the
// same attribute names in the caller's spans and in the plane's: one trace
// reads as one vocabulary. None of them ever holds a secret.
package otelattr

import "go.opentelemetry.io/otel/attribute"

// Attributes and the status event both sides record.
const (
	BackendID = attribute.Key("jamsocket.backend.id")
	Spawned   = attribute.Key("jamsocket.spawned")
	Status    = attribute.Key("jamsocket.status")
	Outcome   = attribute.Key("jamsocket.outcome")

	// EventStatus is the event of one status a backend passed through.
	EventStatus = "jamsocket.status"
)

// The values of Outcome.
const (
	OutcomeOK         = "ok"
	OutcomeError      = "error"
	OutcomeCanceled   = "canceled"
	OutcomeTerminated = "terminated"
)
