package workflows_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/capturekit/alipay-capture/codec"
	"github.com/capturekit/alipay-capture/workflows"
)

// TestReplayRecordedHistories replays every history ever recorded from a real Temporal server
// (see TestCapturePathsOnRealServer -record) against today's workflow code. A change that fails
// here would break running captures: guard it with workflow.GetVersion and keep the old path.
// testdata/corpus.txt lists the corpus, which only grows: a listed history that is missing, or
// a history that is not listed, fails the test.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "history_*.json"))
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join("testdata", "corpus.txt"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(manifest), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			listed[line] = true
		}
	}
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s is not listed in testdata/corpus.txt", f)
		}
		delete(listed, filepath.Base(f))
	}
	for f := range listed {
		t.Errorf("testdata/%s is listed in corpus.txt but missing: recorded histories are never removed", f)
	}
	logger := log.NewStructuredLogger(slog.New(slog.DiscardHandler))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := newReplayer(t, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "history_"), ".json"))
			if err := r.ReplayWorkflowHistoryFromJSONFile(logger, f); err != nil {
				t.Fatalf("replay: %v", err)
			}
		})
	}
}

// TestAnswerRacingASignalIsNotLost replays a recorded S path with a signal inserted into the
// capture's answer's workflow task, ahead of the answer: a notification for another capture and
// the activity's S land together. A workflow that took the S for no answer would go UNKNOWN, and
// the replay would fail on the commands that differ from the recorded CAPTURED.
func TestAnswerRacingASignalIsNotLost(t *testing.T) {
	history, err := client.HistoryFromJSON(mustOpen(t, filepath.Join("testdata", "history_s.json")), client.HistoryJSONOptions{})
	if err != nil {
		t.Fatal(err)
	}
	at := -1
	for i, e := range history.Events {
		if e.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED {
			at = i
		}
	}
	if at < 0 {
		t.Fatal("no ActivityTaskCompleted in the recorded S path")
	}
	input, err := converter.GetDefaultDataConverter().ToPayloads(note("S", "SOMEONE-ELSE-cap-1"))
	if err != nil {
		t.Fatal(err)
	}
	signal := &historypb.HistoryEvent{
		EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
		EventTime: history.Events[at].GetEventTime(),
		Attributes: &historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes{WorkflowExecutionSignaledEventAttributes: &historypb.WorkflowExecutionSignaledEventAttributes{
			SignalName: workflows.SignalNotifyCapture, Input: input, Identity: "test"}},
	}
	history.Events = insertEvent(history.Events, at, signal)
	r := worker.NewWorkflowReplayer()
	workflows.Register(r)
	if err := r.ReplayWorkflowHistory(log.NewStructuredLogger(slog.New(slog.DiscardHandler)), history); err != nil {
		t.Fatalf("the S answer that raced a signal was not applied as recorded: %v", err)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// insertEvent inserts e before events[at] and renumbers the events after it, and every
// reference to them (fields named *_event_id).
func insertEvent(events []*historypb.HistoryEvent, at int, e *historypb.HistoryEvent) []*historypb.HistoryEvent {
	id := events[at].GetEventId()
	e.EventId = id
	for _, ev := range events[at:] {
		ev.EventId++
	}
	for _, ev := range events {
		shiftRefs(ev.ProtoReflect(), id)
	}
	out := append([]*historypb.HistoryEvent{}, events[:at]...)
	out = append(out, e)
	return append(out, events[at:]...)
}

func shiftRefs(m protoreflect.Message, from int64) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap():
			shiftRefs(v.Message(), from)
		case fd.Kind() == protoreflect.Int64Kind && !fd.IsList() && strings.HasSuffix(string(fd.Name()), "_event_id") && fd.Name() != "event_id":
			if v.Int() >= from {
				m.Set(fd, protoreflect.ValueOfInt64(v.Int()+1))
			}
		}
		return true
	})
}

// newReplayer returns a replayer of the workflows, with the payload codec of the test key
// (testdata/codec_test_keys.txt) for the histories recorded with it (names codec_…).
func newReplayer(t *testing.T, name string) worker.WorkflowReplayer {
	t.Helper()
	var opts worker.WorkflowReplayerOptions
	if strings.HasPrefix(name, "codec_") {
		opts.DataConverter = testCodec(t).DataConverter()
		opts.FailureConverter = temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: opts.DataConverter, EncodeCommonAttributes: true})
	}
	r, err := worker.NewWorkflowReplayerWithOptions(opts)
	if err != nil {
		t.Fatal(err)
	}
	workflows.Register(r)
	return r
}

// testCodec returns the test key of the corpus's codec histories.
func testCodec(t *testing.T) codec.Keys {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "codec_test_keys.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			line = l
		}
	}
	ks, err := codec.ParseKeys(line)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}
