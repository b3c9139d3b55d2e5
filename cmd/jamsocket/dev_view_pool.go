package main

import (
	"fmt"

	"github.com/jamsocket-go/jamsocket/localplane"
)

// The warm pool (--warm-pool) in each view: the table's footer counts it,
// --json sends a warm_pool event per change, and the plain log stays quiet
// (the plane's log says when the pool stops warming).

// warmPoolEvent is the warm_pool event's body in --json.
type warmPoolEvent struct {
	Size    int    `json:"size"`
	Warming int    `json:"warming"`
	Ready   int    `json:"ready"`
	Off     string `json:"off,omitempty"`
}

// warmPoolLine is the table's line about the pool, "" without one.
func warmPoolLine(p localplane.WarmPoolView) string {
	switch {
	case p.Size == 0:
		return ""
	case p.Off != "":
		return "Warm pool off: " + visible(p.Off, false)
	}
	return fmt.Sprintf("Warm pool: %d ready, %d warming (of %d)", p.Ready, p.Warming, p.Size)
}

func (v *plainView) warmPool(localplane.WarmPoolView) {}

func (v *jsonView) warmPool(p localplane.WarmPoolView) {
	v.emit(devEvent{Type: "warm_pool", WarmPool: &warmPoolEvent{Size: p.Size, Warming: p.Warming, Ready: p.Ready, Off: p.Off}})
}

// warmPool redraws the table (its footer counts the pool).
func (v *tableView) warmPool(localplane.WarmPoolView) { v.change(localplane.BackendView{}) }
