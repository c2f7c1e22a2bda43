package capture

import (
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

// temporalSearchAttributes decodes the raw search attributes of a visibility listing.
type temporalSearchAttributes map[string]*commonpb.Payload

func (a temporalSearchAttributes) str(name string) string {
	var s string
	if p, ok := a[name]; ok {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &s)
	}
	return s
}

func (a temporalSearchAttributes) time(name string) time.Time {
	var t time.Time
	if p, ok := a[name]; ok {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &t)
	}
	return t
}
