package workflows_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/capturekit/alipay-capture/workflows"
)

// TestPolicyDurationsReadable: policy durations are written as duration strings, read back
// exactly, and read from the nanosecond integers earlier releases wrote (recorded histories).
func TestPolicyDurationsReadable(t *testing.T) {
	p := workflows.DefaultPolicy()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"inquirySchedule":["2m0s","10m0s","10m0s","1h0m0s","2h0m0s","6h0m0s"]`, `"deadlineMargin":"10m0s"`,
		`"callTimeout":"30s"`, `"resolveWithin":"720h0m0s"`, `"warnBefore":["48h0m0s","24h0m0s"]`, `"onDeadline":"lapse"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	var back workflows.Policy
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, p) {
		t.Errorf("round trip: %+v, %v; want %+v", back, err, p)
	}
	var old, short workflows.Policy
	if err := json.Unmarshal([]byte(`{"inquirySchedule":[120000000000,600000000000],"deadlineMargin":600000000000,"callTimeout":30000000000}`), &old); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(`{"inquirySchedule":["2m","600s"],"deadlineMargin":"10m","callTimeout":"30s"}`), &short); err != nil {
		t.Fatal(err)
	}
	want := workflows.Policy{InquirySchedule: []time.Duration{2 * time.Minute, 10 * time.Minute}, DeadlineMargin: 10 * time.Minute, CallTimeout: 30 * time.Second}
	if !reflect.DeepEqual(old, want) || !reflect.DeepEqual(short, want) {
		t.Errorf("nanoseconds %+v, strings %+v; want %+v", old, short, want)
	}
	var none workflows.Policy
	if b, _ := json.Marshal(workflows.CaptureInput{PaymentID: "P"}); strings.Contains(string(b), "policy") {
		t.Errorf("an empty policy is written: %s", b)
	} else if err := json.Unmarshal([]byte(`{}`), &none); err != nil || !reflect.DeepEqual(none, workflows.Policy{}) {
		t.Errorf("empty policy: %+v, %v", none, err)
	}
}

// TestMalformedInputNamesTheField: an input that does not decode, as a caller in another
// language may send it, closes the capture FAILED with INVALID_INPUT naming the field, before
// anything is sent; its workflow task does not fail.
func TestMalformedInputNamesTheField(t *testing.T) {
	for field, body := range map[string]string{
		"policy.deadlineMargin":     `{"paymentId":"P1","amount":{"currency":"USD","value":"1000"},"authorizedAt":"2026-11-01T10:00:00Z","policy":{"deadlineMargin":"ten minutes"}}`,
		"policy.inquirySchedule[1]": `{"paymentId":"P1","amount":{"currency":"USD","value":"1000"},"authorizedAt":"2026-11-01T10:00:00Z","policy":{"inquirySchedule":["2m",true]}}`,
		"amount.value":              `{"paymentId":"P1","amount":{"currency":"USD","value":1000},"authorizedAt":"2026-11-01T10:00:00Z"}`,
		"authorizedAt":              `{"paymentId":"P1","amount":{"currency":"USD","value":"1000"},"authorizedAt":"yesterday"}`,
	} {
		var in workflows.CaptureInput
		if err := json.Unmarshal([]byte(body), &in); err != nil {
			t.Fatalf("%s: decoding fails (%v): the workflow task would fail instead of the capture", field, err)
		}
		if err := in.Validate(); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: Validate() = %v, want an error naming %s", field, err, field)
		}
		h := newHarness(t)
		h.env.ExecuteWorkflow(workflows.WorkflowType, json.RawMessage(body))
		var appErr *temporal.ApplicationError
		if err := h.env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeInvalidInput || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v, want InvalidInput naming the field", field, err)
		}
		if len(h.captureReq)+len(h.inquiries) != 0 {
			t.Errorf("%s: called Antom", field)
		}
	}
}
