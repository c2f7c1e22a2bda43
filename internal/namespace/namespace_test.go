package namespace_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

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
	path, err := temporaltest.CLIPath()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Only AlipayPaymentId, and CaptureStatus with the wrong type.
	dev, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: path, LogLevel: "error", Stdout: io.Discard, Stderr: io.Discard,
		SearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrPaymentID.ValueSet(""),
			temporal.NewSearchAttributeKeyInt64(workflows.SearchAttrStatus).ValueSet(0),
		),
		ClientOptions: &client.Options{Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Stop()
	err = namespace.CheckSearchAttributes(ctx, dev.Client(), "default")
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
