package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/capturekit/alipay-capture/alipay/alipaytest"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestHTTPExample runs examples/http/capture.sh (curl and Temporal's HTTP API) against the dev
// server: its capture request captures once, the same key again is that capture, and the
// capture is found by its search attributes.
func TestHTTPExample(t *testing.T) {
	s := startSystem(t)
	if s.HTTPURL == "" {
		t.Fatal("the stack's dev server has no HTTP API address")
	}
	pid := s.authorize(alipaytest.Scenario{NoNotify: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "../examples/http/capture.sh", pid, usd10.Value, usd10.Currency, "SHIP-1")
	cmd.Env = append(cmd.Environ(), "TEMPORAL_HTTP="+s.HTTPURL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("capture.sh: %v\n%s", err, out)
	}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("%d output lines, want 3:\n%s", len(lines), out)
	}
	reply := func(line string) workflows.CaptureReply {
		var r struct {
			Responses []struct {
				UpdateWorkflow struct {
					Outcome struct {
						Success []workflows.CaptureReply `json:"success"`
					} `json:"outcome"`
				} `json:"updateWorkflow"`
			} `json:"responses"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil || len(r.Responses) != 2 || len(r.Responses[1].UpdateWorkflow.Outcome.Success) != 1 {
			t.Fatalf("not an Update-with-Start response (%v): %s", err, line)
		}
		return r.Responses[1].UpdateWorkflow.Outcome.Success[0]
	}
	first, again := reply(lines[0]), reply(lines[1])
	want := workflows.CaptureRequestID(pid, "SHIP-1")
	if first.CaptureRequestID != want || first.State != workflows.StateCaptured || first.Duplicate {
		t.Errorf("first reply %+v, want %s CAPTURED", first, want)
	}
	if again.CaptureRequestID != want || again.State != workflows.StateCaptured {
		t.Errorf("the same key again: %+v", again)
	}
	var list struct {
		Executions []struct {
			Execution struct {
				WorkflowID string `json:"workflowId"`
			} `json:"execution"`
			SearchAttributes struct {
				IndexedFields map[string]any `json:"indexedFields"`
			} `json:"searchAttributes"`
		} `json:"executions"`
	}
	if err := json.Unmarshal([]byte(lines[2]), &list); err != nil || len(list.Executions) != 1 || list.Executions[0].Execution.WorkflowID != workflows.WorkflowID(pid) {
		t.Errorf("the listing (%v): %s", err, lines[2])
	}
	if p := s.ledger(pid); p.CaptureCalls != 1 || p.CapturesSucceeded != 1 {
		t.Errorf("Antom saw %d capture calls, %d succeeded; want one", p.CaptureCalls, p.CapturesSucceeded)
	}
	st, err := s.cc.Status(context.Background(), pid)
	if err != nil || st.State != workflows.StateCaptured || st.Captured != usd10 {
		t.Errorf("status %+v, %v", st, err)
	}
}
