// Package namespace checks that a Temporal namespace is ready for CaptureWorkflow: its search
// attributes exist with the right types. Processes run the check at start and exit with its
// message, which names what is missing and how to add it.
package namespace

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/capturekit/alipay-capture/workflows"
)

// ErrNotReady is wrapped by errors that say the namespace lacks what CaptureWorkflow needs (it
// does not exist, or search attributes are missing), as opposed to Temporal being unreachable.
var ErrNotReady = errors.New("namespace not ready")

// Required lists the search attributes CaptureWorkflow writes and their types.
var Required = map[string]enumspb.IndexedValueType{
	workflows.SearchAttrPaymentID: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	workflows.SearchAttrStatus:    enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	workflows.SearchAttrOrderID:   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	workflows.SearchAttrDeadline:  enumspb.INDEXED_VALUE_TYPE_DATETIME,
	workflows.SearchAttrMerchant:  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
}

// CheckSearchAttributes returns an error naming every required search attribute that ns lacks
// or has with another type, with the command that adds it.
func CheckSearchAttributes(ctx context.Context, c client.Client, ns string) error {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	var nsNotFound *serviceerror.NamespaceNotFound
	var notFound *serviceerror.NotFound
	if errors.As(err, &nsNotFound) || errors.As(err, &notFound) {
		return fmt.Errorf("%w: namespace %q does not exist (create it: temporal operator namespace create --namespace %s): %w", ErrNotReady, ns, ns, err)
	}
	if err != nil {
		return fmt.Errorf("listing the search attributes of namespace %q: %w", ns, err)
	}
	have := resp.GetCustomAttributes()
	var problems []string
	for name, want := range Required {
		got, ok := have[name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s is missing (add it: temporal operator search-attribute create --namespace %s --name %s --type %s)",
				name, ns, name, typeName(want)))
		case got != want:
			problems = append(problems, fmt.Sprintf("%s has type %s, want %s", name, typeName(got), typeName(want)))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return fmt.Errorf("%w: namespace %q is not ready for CaptureWorkflow: %s", ErrNotReady, ns, strings.Join(problems, "; "))
}

func typeName(t enumspb.IndexedValueType) string {
	switch t {
	case enumspb.INDEXED_VALUE_TYPE_KEYWORD:
		return "Keyword"
	case enumspb.INDEXED_VALUE_TYPE_DATETIME:
		return "Datetime"
	}
	return strings.TrimPrefix(t.String(), "INDEXED_VALUE_TYPE_")
}
