package amazon

import (
	"context"

	"github.com/bakehq/bake/bake"
)

// SetHooks calls before ahead of every step of b's bake and after when
// the step returns (tests inject faults and interrupts with them).
func SetHooks(b bake.Builder, before func(ctx context.Context, step string), after func(step string, err error)) {
	ab := b.(*Builder)
	ab.hook, ab.after = before, after
}
