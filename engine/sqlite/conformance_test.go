package sqlite

import (
	"testing"

	"captcha/engine/service"
	"captcha/engine/service/storetest"
)

// The conformance suite of service.Store, which engine/postgres runs too.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) service.Store { return openTestDB(t) })
}
