package namespace_test

import (
	"context"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/capturekit/alipay-capture/internal/namespace"
	"github.com/capturekit/alipay-capture/internal/temporaltest"
	"github.com/capturekit/alipay-capture/workflows"
)

func TestReadyNamespacePasses(t *testing.T) {
	srv := temporaltest.Start(t)
	if err := namespace.CheckSearchAttributes(context.Background(), srv.Client, "default"); err != nil {
		t.Fatal(err)
	}
}

func TestMissingSearchAttributesAreNamed(t *testing.T) {
	// Only AlipayPaymentId, and CaptureStatus with the wrong type.
	srv := temporaltest.StartWith(t, temporal.NewSearchAttributes(
		workflows.AttrPaymentID.ValueSet(""),
		temporal.NewSearchAttributeKeyInt64(workflows.SearchAttrStatus).ValueSet(0),
	))
	err := namespace.CheckSearchAttributes(context.Background(), srv.Client, "default")
	if err == nil {
		t.Fatal("a namespace without the search attributes passed")
	}
	for _, want := range []string{
		"OrderId is missing", "CaptureDeadline is missing", "--type Datetime",
		"CaptureStatus has type Int, want Keyword",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "AlipayPaymentId") {
		t.Errorf("error names a search attribute that exists: %v", err)
	}
}
